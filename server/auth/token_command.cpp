#include "server/auth/token_command.hpp"

#include <CLI/CLI.hpp>

#include <charconv>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "server/auth/token_verifier.hpp"
#include "server/wall_clock.hpp"

namespace loopchat {
namespace {

// "90", "90s", "30m", "12h", "7d" -> seconds; nullopt when not one of those.
std::optional<std::int64_t> parse_ttl(const std::string& text) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || value <= 0) return std::nullopt;
  std::string_view unit(end, text.data() + text.size() - end);
  if (unit.empty() || unit == "s") return value;
  if (unit == "m") return value * 60;
  if (unit == "h") return value * 3600;
  if (unit == "d") return value * 86400;
  return std::nullopt;
}

}  // namespace

int run_token_command(int argc, char** argv) {
  CLI::App app{"loopchat-server token: prints an HS256 token for the server's --auth-secret-file",
               "loopchat-server token"};
  std::string secret_file, sub, ttl = "1h";
  std::vector<std::string> rooms;
  app.add_option("--secret-file", secret_file, "The server's --auth-secret-file")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--sub", sub, "The user's name (the connection's name)")->required();
  app.add_option("--rooms", rooms, "Room-name patterns the user may join, e.g. team-*,lobby")
      ->delimiter(',');
  app.add_option("--ttl", ttl, "How long the token is valid: 90s, 30m, 1h, 7d")
      ->capture_default_str()
      ->check([](const std::string& text) {
        return parse_ttl(text) ? std::string() : "a duration such as 90s, 30m, 1h or 7d";
      });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    std::string secret = read_secret_file(secret_file);
    TokenVerifier check(secret);
    std::string token = mint_token(secret, sub, rooms, wall_clock_ms() / 1000, *parse_ttl(ttl));
    // Minted as the server would verify it: a bad sub or pattern fails here, not at login.
    auto verified = check.verify(token, wall_clock_ms() / 1000);
    if (auto* why = std::get_if<std::string>(&verified)) {
      std::cerr << "loopchat-server token: " << *why << "\n";
      return 2;
    }
    std::cout << token << "\n";
  } catch (const std::exception& e) {
    std::cerr << "loopchat-server token: " << e.what() << "\n";
    return 2;
  }
  return 0;
}

}  // namespace loopchat
