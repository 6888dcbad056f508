import pytest

from tidings.settings import SETTINGS, Settings


def test_defaults_env_and_toml_layering(tmp_path):
    config = tmp_path / "tidings.toml"
    config.write_text("[tidings]\nstory_threshold = 0.7\nport = 9000\n")
    settings = Settings.load(
        config_file=config, env={"TIDINGS_PORT": "9100", "TIDINGS_FETCH_ALLOW_PRIVATE": "yes"}
    )
    assert settings.story_threshold == 0.7  # from the file
    assert settings.port == 9100  # env beats file
    assert settings.fetch_allow_private is True
    assert settings.search_limit == 20  # default
    assert Settings.load(env={}, port=1234).port == 1234  # explicit beats all


def test_bad_values_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="setting port: expected int"):
        Settings.load(env={"TIDINGS_PORT": "eighty"})
    config = tmp_path / "bad.toml"
    config.write_text("no_such_setting = 1\n")
    with pytest.raises(ValueError, match="unknown setting 'no_such_setting'"):
        Settings.load(config_file=config, env={})


def test_every_setting_is_documented_in_readme():
    readme = (__import__("pathlib").Path(__file__).parent.parent / "README.md").read_text()
    missing = [s.env for s in SETTINGS if s.env not in readme]
    assert not missing, f"settings missing from README: {missing}"
    for setting in SETTINGS:
        assert setting.help.strip(), setting.name
        assert isinstance(setting.default, setting.type), setting.name
