#include "client/cli/options.hpp"

#include <CLI/CLI.hpp>

#include <iostream>
#include <variant>

#include "client/cli/exit_code.hpp"
#include "common/codec.hpp"

namespace loopchat::cli {

ParsedCli parse_options(int argc, char** argv) {
  CliOptions o;
  std::string url = "ws://127.0.0.1:8080/ws";
  std::string name;
  unsigned attempts = 0;
  long backoff_initial = o.backoff_initial_ms.count();
  long backoff_max = o.backoff_max_ms.count();
  long connect_timeout = o.connect_timeout_ms.count();

  CLI::App app{
      "loopchat: chat in a terminal with a loopchat server.\n"
      "Type a line to say it to the current room; /help lists the commands.\n"
      "With standard input from a pipe, each line is sent and loopchat exits\n"
      "once the server has acknowledged them all.",
      "loopchat"};
  app.get_formatter()->column_width(34);
  app.add_option("url", url, "Server WebSocket URL")->capture_default_str();
  app.add_option("-n,--name", name, "Nickname to ask for (1 to 32 characters)");
  app.add_option("--ca-file", o.ca_file,
                 "wss://: trust this CA certificate (PEM) instead of the system's")
      ->check(CLI::ExistingFile);
  app.add_flag("--insecure", o.insecure,
               "wss://: do not check the server's certificate (testing only)");
  app.add_option("--token", o.token,
                 "A token for a server with authentication (loopchat-server token ...); your "
                 "name is then the token's");
  app.add_option("-r,--room", o.room, "Room to join first")->capture_default_str();
  app.add_flag("--json", o.json, "Print every frame received as one JSON line (for jq)");
  app.add_flag("--no-color", o.no_color, "No colours (also when NO_COLOR is set)");
  app.add_flag("!--no-reconnect", o.reconnect, "Exit when the connection drops");
  auto tuning = "Reconnecting";
  app.add_option("--reconnect-attempts", attempts,
                 "Attempts in a row before giving up; 0 = forever\n"
                 "(default: forever on a terminal, 8 otherwise)")
      ->group(tuning);
  app.add_option("--backoff-initial-ms", backoff_initial, "First reconnect delay")
      ->check(CLI::Range(10L, 60'000L))
      ->capture_default_str()
      ->group(tuning);
  app.add_option("--backoff-max-ms", backoff_max, "Longest reconnect delay")
      ->check(CLI::Range(10L, 600'000L))
      ->capture_default_str()
      ->group(tuning);
  app.add_option("--connect-timeout-ms", connect_timeout, "Bound on connect and handshake")
      ->check(CLI::Range(100L, 600'000L))
      ->capture_default_str()
      ->group(tuning);
  app.footer(
      "Exit codes: 0 ok, 2 bad usage or URL, 3 cannot connect (or gave up\n"
      "reconnecting), 4 closed by the server without reconnecting, 128+N on signal N.");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return {std::nullopt, code == 0 ? kExitOk : kExitUsage};
  }

  auto parsed = client::WsUrl::parse_or_error(url);
  if (auto* error = std::get_if<std::string>(&parsed)) {
    std::cerr << "loopchat: " << *error << '\n';
    return {std::nullopt, kExitUsage};
  }
  o.url = std::get<client::WsUrl>(parsed);
  if (app.count("--name") > 0) {
    if (!protocol::valid_nickname(name)) {
      std::cerr << "loopchat: bad nickname '" << name
                << "': 1 to 32 characters, no control characters, no leading or trailing space\n";
      return {std::nullopt, kExitUsage};
    }
    o.name = name;
  }
  if (!protocol::valid_room_name(o.room)) {
    std::cerr << "loopchat: bad room name '" << o.room
              << "': 1 to 64 letters, digits, '-', '_' or '.'\n";
    return {std::nullopt, kExitUsage};
  }
  if (app.count("--reconnect-attempts") > 0) o.reconnect_attempts = attempts;
  o.backoff_initial_ms = std::chrono::milliseconds(backoff_initial);
  o.backoff_max_ms = std::chrono::milliseconds(std::max(backoff_max, backoff_initial));
  o.connect_timeout_ms = std::chrono::milliseconds(connect_timeout);
  return {o, kExitOk};
}

}  // namespace loopchat::cli
