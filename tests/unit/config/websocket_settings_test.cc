// The WebSocket settings through load(), spelled as uvicorn spells them: defaults, the command
// line (--ws-per-message-deflate takes a value there), YAML, the environment, bad values.
#include <string>
#include <utility>

#include "tests/unit/config/load_fixture.h"

namespace asgid::config {
namespace {

using WebSocketSettingsTest = LoadFixture;

TEST_F(WebSocketSettingsTest, DefaultsAreUvicorns) {
  Settings s = run({});
  EXPECT_EQ(s.ws, WsImpl::kAuto);
  EXPECT_EQ(s.ws_max_size, 16 * 1024 * 1024);
  EXPECT_EQ(s.ws_max_queue, 32);
  EXPECT_DOUBLE_EQ(s.ws_ping_interval, 20.0);
  EXPECT_DOUBLE_EQ(s.ws_ping_timeout, 20.0);
  EXPECT_TRUE(s.ws_per_message_deflate);
}

TEST_F(WebSocketSettingsTest, CommandLine) {
  Settings s = run({"--ws", "websockets", "--ws-max-size", "1024", "--ws-max-queue", "4",
                    "--ws-ping-interval", "0", "--ws-ping-timeout", "2.5",
                    "--ws-per-message-deflate", "False"});
  EXPECT_EQ(s.ws, WsImpl::kWebsockets);
  EXPECT_EQ(s.ws_max_size, 1024);
  EXPECT_EQ(s.ws_max_queue, 4);
  EXPECT_DOUBLE_EQ(s.ws_ping_interval, 0.0);
  EXPECT_DOUBLE_EQ(s.ws_ping_timeout, 2.5);
  EXPECT_FALSE(s.ws_per_message_deflate);
  EXPECT_EQ(run({"--ws", "none"}).ws, WsImpl::kNone);
  EXPECT_EQ(run({"--ws", "wsproto"}).ws, WsImpl::kWsproto);
}

TEST_F(WebSocketSettingsTest, YamlAndEnvironment) {
  Settings s = run({"--config", writeConfig("ws_max_size: 2048\nws_per_message_deflate: false\n")});
  EXPECT_EQ(s.ws_max_size, 2048);
  EXPECT_FALSE(s.ws_per_message_deflate);
  env_ = {{"ASGID_WS", "none"}, {"ASGID_WS_PING_INTERVAL", "5"}};
  s = run({});
  EXPECT_EQ(s.ws, WsImpl::kNone);
  EXPECT_DOUBLE_EQ(s.ws_ping_interval, 5.0);
}

TEST_F(WebSocketSettingsTest, BadValues) {
  for (auto [flag, value] : {std::pair{"--ws-max-size", "0"},
                             {"--ws", "h11"},
                             {"--ws-per-message-deflate", "maybe"},
                             {"--ws-ping-timeout", "-1"}}) {
    std::string error = errorOf({flag, value});
    EXPECT_TRUE(error.starts_with(std::string(flag) + ": ")) << error;
  }
}

}  // namespace
}  // namespace asgid::config
