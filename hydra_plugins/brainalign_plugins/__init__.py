"""The config folders of the user's brainalign plugins (BRAINALIGN_PLUGINS, entry points) on Hydra's
search path, after the app's own conf/: a plugin's conf/dataset/<name>.yaml is `dataset=<name>`
(docs/extending.md). Found by Hydra's plugin scan of the `hydra_plugins` namespace."""

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.search_path_plugin import SearchPathPlugin


class BrainalignPluginConfigs(SearchPathPlugin):
    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        from brainalign.registry import plugin_conf_dirs

        for folder in plugin_conf_dirs():
            search_path.append(provider="brainalign-plugin", path=f"file://{folder}")
