// Command line of `loopchat`: what to connect to, who to be, how to behave.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "client/ws_url.hpp"

namespace loopchat::cli {

struct CliOptions {
  client::WsUrl url;      // ws://127.0.0.1:8080/ws by default
  std::string token;      // --token: sent as ?token= on the upgrade, never shown
  std::string ca_file;    // --ca-file: wss:// trusts this CA
  bool insecure = false;  // --insecure: wss:// checks no certificate
  std::optional<std::string> name;
  std::string room = "lobby";
  bool json = false;      // raw protocol frames on stdout, one per line
  bool no_color = false;  // colours are also off when NO_COLOR is set or stdout is no terminal
  bool reconnect = true;
  // Reconnect attempts in a row before giving up; 0 = forever. Defaults to
  // forever on a terminal and to kScriptedReconnectAttempts otherwise.
  std::optional<unsigned> reconnect_attempts;
  std::chrono::milliseconds backoff_initial_ms{250};
  std::chrono::milliseconds backoff_max_ms{10'000};
  std::chrono::milliseconds connect_timeout_ms{5'000};
};

inline constexpr unsigned kScriptedReconnectAttempts = 8;

struct ParsedCli {
  std::optional<CliOptions> options;  // empty: exit with exit_code
  int exit_code = 0;
};

ParsedCli parse_options(int argc, char** argv);

}  // namespace loopchat::cli
