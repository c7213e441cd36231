"""The trajectory figure's x axis (symlog of training tokens or steps): every checkpoint or decade has a label."""


def labels(x):
    from brainalign.analysis.figures import _plt
    from brainalign.analysis.trajectory import training_axis

    plt = _plt()
    fig, ax = plt.subplots()
    ax.plot(x, range(len(x)), "o")
    ticks = training_axis(ax, x)
    fig.canvas.draw()
    shown = {t.get_position()[0]: t.get_text() for t in ax.get_xticklabels() if t.get_text()}
    plt.close(fig)
    return ticks, shown


def test_few_checkpoints_over_few_decades_are_each_labelled():
    ticks, shown = labels([0, 2000, 4000])   # tests/fixtures_checkpoints.py at 1,000 tokens per step
    assert ticks == [0, 2000, 4000]
    assert shown == {0: "0", 2000: "2k", 4000: "4k"}
    ticks, shown = labels([2000 * 2 ** k for k in range(5)])   # two decades: each checkpoint, not 10^3 and 10^4
    assert list(shown.values()) == ["2k", "4k", "8k", "16k", "32k"]


def test_many_checkpoints_over_few_decades_are_thinned_keeping_the_ends():
    x = [1000 * s for s in range(1, 11)]
    ticks, shown = labels(x)
    assert ticks[0] == 1000 and ticks[-1] == 10_000 and len(ticks) == 6 and set(ticks) <= set(x)
    assert list(shown.values()) == ["1k", "3k", "5k", "6k", "8k", "10k"]


def test_checkpoints_over_decades_label_each_decade():
    x = [0] + [s * 2_097_152 for s in (1, 8, 64, 1000, 16000, 143000)]   # Pythia steps, 2M tokens each
    ticks, shown = labels(x)
    assert ticks == [0] + [10.0 ** k for k in range(6, 12)]
    assert [shown[t] for t in ticks] == ["0"] + [f"$10^{{{k}}}$" for k in range(6, 12)]
