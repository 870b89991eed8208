// A fixture for tests that go through config::load(): a temporary directory for YAML files,
// an environment the test fills in, and helpers that return the settings or the error text.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "config/settings.h"

namespace asgid::config {

class LoadFixture : public testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = testing::TempDir() + "asgid-config-XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Writes asgid.yaml (with an app) holding `lines`; returns its path.
  std::string writeConfig(const std::string& lines) {
    std::string path = dir_ + "/asgid.yaml";
    std::ofstream(path) << "app: main:app\n" << lines;
    return path;
  }

  // load() for "asgid main:app ARGS..." with env_ as the environment.
  Settings run(std::vector<std::string> args) {
    std::vector<const char*> argv = {"asgid", "main:app"};
    for (const std::string& arg : args) argv.push_back(arg.c_str());
    EnvLookup env = [this](const std::string& name) -> std::optional<std::string> {
      auto found = env_.find(name);
      if (found == env_.end()) return std::nullopt;
      return found->second;
    };
    std::ostringstream out;
    return load(static_cast<int>(argv.size()), argv.data(), env, out).settings;
  }

  // The ConfigError's message, or "no error".
  std::string errorOf(std::vector<std::string> args) {
    try {
      run(std::move(args));
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "no error";
  }

  std::string dir_;
  std::map<std::string, std::string> env_;
};

}  // namespace asgid::config
