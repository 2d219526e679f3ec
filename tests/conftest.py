pytest_plugins = ["vv_llm.testing.pytest_plugin"]
