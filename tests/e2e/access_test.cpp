// Who may come in, end to end: signed tokens at the upgrade and on an open
// connection, room permissions, origins, X-Forwarded-For behind a trusted
// proxy, and the member list. Refusals are provoked with raw upgrade
// requests that send what a misbehaving client or a foreign page would.
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "server/auth/token_verifier.hpp"
#include "server/wall_clock.hpp"
#include "tests/support/chat_client.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace loopchat::test {
namespace {

using namespace std::chrono_literals;

const std::string kSecret = "a secret of more than thirty-two bytes, for tests";

// A secret file and a server that requires tokens signed with it.
struct AuthServer {
  explicit AuthServer(std::vector<std::string> extra = {}) {
    std::ofstream(dir / "secret") << kSecret << "\n";
    std::vector<std::string> args = {"--auth-secret-file", secret(), "--quiet"};
    args.insert(args.end(), extra.begin(), extra.end());
    server = std::make_unique<ServerProcess>(args);
  }
  std::string secret() const { return dir / "secret"; }
  std::uint16_t port() const { return server->port(); }
  // A token from the server's own `token` command, as a deployment mints them.
  std::string token(const std::string& sub, const std::string& ttl = "1h",
                    const std::string& rooms = "") const {
    std::vector<std::string> argv = {
        LOOPCHAT_SERVER_BIN, "token", "--secret-file", secret(), "--sub", sub, "--ttl", ttl};
    if (!rooms.empty()) argv.insert(argv.end(), {"--rooms", rooms});
    CommandResult minted = run_command(argv);
    EXPECT_EQ(minted.exit_code, 0) << minted.err;
    std::string token = minted.out;
    while (!token.empty() && token.back() == '\n') token.pop_back();
    return token;
  }
  TempDir dir;
  std::unique_ptr<ServerProcess> server;
};

// One upgrade request over a raw socket: its status, the first line of the
// body of a refusal, and the socket, kept open (an upgraded connection
// stays counted by the server until it closes).
struct Upgrade {
  int status = 0;
  std::string body;
  int fd = -1;
  ~Upgrade() {
    if (fd >= 0) ::close(fd);
  }
};

std::unique_ptr<Upgrade> upgrade(std::uint16_t port, const std::string& target,
                                 const std::string& headers = "") {
  auto result = std::make_unique<Upgrade>();
  result->fd = connect_loopback(port);
  if (result->fd < 0) return result;
  timeval tv{10, 0};
  ::setsockopt(result->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                        "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        "Sec-WebSocket-Version: 13\r\n" +
                        headers + "\r\n";
  EXPECT_EQ(::send(result->fd, request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  std::string answer;
  char buffer[4096];
  while (answer.find("\r\n\r\n") == std::string::npos) {
    ssize_t got = ::recv(result->fd, buffer, sizeof buffer, 0);
    if (got <= 0) break;
    answer.append(buffer, static_cast<std::size_t>(got));
  }
  if (answer.size() > 12) result->status = std::stoi(answer.substr(9, 3));
  if (result->status != 101) {  // a refusal ends with its body and the server's close
    for (ssize_t got; (got = ::recv(result->fd, buffer, sizeof buffer, 0)) > 0;)
      answer.append(buffer, static_cast<std::size_t>(got));
    std::size_t body = answer.find("\r\n\r\n");
    if (body != std::string::npos) result->body = answer.substr(body + 4);
    while (!result->body.empty() && result->body.back() == '\n') result->body.pop_back();
  }
  return result;
}

TEST(Access, TokensAreCheckedAtTheUpgrade) {
  AuthServer server;
  auto missing = upgrade(server.port(), "/ws");
  EXPECT_EQ(missing->status, 401);
  EXPECT_EQ(missing->body, "missing token");
  auto malformed = upgrade(server.port(), "/ws?token=not-a-token");
  EXPECT_EQ(malformed->status, 401);
  EXPECT_EQ(malformed->body, "malformed token");
  std::string foreign = mint_token("another secret that is also long enough!!", "ann", {},
                                   wall_clock_ms() / 1000, 3600);
  auto forged = upgrade(server.port(), "/ws?token=" + foreign);
  EXPECT_EQ(forged->status, 401);
  EXPECT_EQ(forged->body, "bad signature");
  std::string old = mint_token(kSecret, "ann", {}, wall_clock_ms() / 1000 - 7200, 3600);
  auto expired = upgrade(server.port(), "/ws?token=" + old);
  EXPECT_EQ(expired->status, 401);
  EXPECT_EQ(expired->body, "token expired");

  std::string good = server.token("ann");
  EXPECT_EQ(upgrade(server.port(), "/ws?token=" + good)->status, 101);
  EXPECT_EQ(upgrade(server.port(), "/ws", "Authorization: Bearer " + good + "\r\n")->status, 101);
  EXPECT_EQ(upgrade(server.port(), "/ws", "Authorization: Bearer " + foreign + "\r\n")->status,
            401);
}

TEST(Access, ATokensUserIsTheConnectionsNameAndItsRoomsTheOnlyOnes) {
  AuthServer server;
  std::string token = server.token("ann", "1h", "team-*,lobby");
  run_async([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    ChatClient laptop(ex), phone(ex);
    EXPECT_EQ(co_await laptop.connect(server.port(), "/ws?token=" + token), "ann");
    EXPECT_EQ(co_await phone.connect(server.port(), "/ws?token=" + token), "ann")
        << "one user, two connections, one name";
    co_await laptop.join("team-blue");
    co_await laptop.join("lobby");
    laptop.send({{"type", "join"}, {"room", "secret"}, {"id", 1}});
    json refused = co_await laptop.expect_error("forbidden");
    EXPECT_EQ(refused["id"], 1);
    laptop.send({{"type", "nick"}, {"name", "mallory"}});
    co_await laptop.expect_error("forbidden");
    laptop.send({{"type", "who"}, {"room", "secret"}});
    co_await laptop.expect_error("forbidden");
    laptop.send({{"type", "history"}, {"room", "secret"}});
    co_await laptop.expect_error("forbidden");
    co_await phone.join("team-blue");
    phone.send({{"type", "say"}, {"room", "team-blue"}, {"text", "from the phone"}});
    json m = co_await laptop.wait_for("message");
    EXPECT_EQ(m["from"], "ann");
  });
}

TEST(Access, AnExpiredTokenClosesTheConnectionUnlessRefreshed) {
  AuthServer server;
  std::string brief = server.token("ann", "2s");
  std::string lasting = server.token("ann", "1h");
  std::string bobs = server.token("bob", "1h");
  run_async(
      [&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        ChatClient stays(ex), goes(ex);
        co_await stays.connect(server.port(), "/ws?token=" + brief);
        co_await goes.connect(server.port(), "/ws?token=" + brief);
        stays.send({{"type", "auth"}, {"token", bobs}});
        co_await stays.expect_error("forbidden");  // another user's token
        stays.send({{"type", "auth"}, {"token", "garbage"}});
        co_await stays.expect_error("forbidden");
        stays.send({{"type", "auth"}, {"token", lasting}, {"id", "a"}});
        json taken = co_await stays.expect("authenticated");
        EXPECT_EQ(taken["id"], "a");
        EXPECT_GT(taken["expires"].get<std::int64_t>(), wall_clock_ms() / 1000 + 3000);
        // Both had the same brief token: the one that kept it is closed when
        // it runs out...
        EXPECT_EQ(co_await goes.expect_close(), 1008);
        // ...and the refreshed one is still served after that moment.
        stays.send({{"type", "ping"}});
        co_await stays.expect("pong");
      },
      20s);
}

TEST(Access, BrowserPagesOfOtherOriginsAreRefusedInOpenModeToo) {
  ServerProcess server({"--quiet", "--allowed-origin", "https://chat.example.org"});
  std::string own = "http://127.0.0.1:" + std::to_string(server.port());
  auto foreign = upgrade(server.port(), "/ws", "Origin: https://evil.example\r\n");
  EXPECT_EQ(foreign->status, 403);
  EXPECT_EQ(foreign->body, "origin not allowed: https://evil.example");
  EXPECT_EQ(upgrade(server.port(), "/ws", "Origin: null\r\n")->status, 403);
  EXPECT_EQ(upgrade(server.port(), "/ws", "Origin: " + own + "\r\n")->status, 101)
      << "the page this server serves";
  EXPECT_EQ(upgrade(server.port(), "/ws", "Origin: https://chat.example.org\r\n")->status, 101);
  EXPECT_EQ(upgrade(server.port(), "/ws")->status, 101) << "no Origin: not a browser page";
}

// One connection per address, loopback no longer exempt from it, and
// X-Forwarded-For believed from `trusted`.
std::unique_ptr<ServerProcess> one_per_address(const std::string& trusted) {
  return std::make_unique<ServerProcess>(
      std::vector<std::string>{"--quiet", "--max-connections-per-ip", "1", "--per-ip-exempt",
                               "192.0.2.255/32", "--trusted-proxy", trusted});
}

std::unique_ptr<Upgrade> forwarded_for(const ServerProcess& server, const std::string& client) {
  return upgrade(server.port(), "/ws", "X-Forwarded-For: " + client + "\r\n");
}

TEST(Access, XForwardedForCountsOnlyFromATrustedProxy) {
  auto behind_proxy = one_per_address("127.0.0.0/8");
  auto first = forwarded_for(*behind_proxy, "203.0.113.7");
  EXPECT_EQ(first->status, 101);
  auto same = forwarded_for(*behind_proxy, "203.0.113.7");
  EXPECT_EQ(same->status, 503) << "the forwarded address is the one limited";
  EXPECT_EQ(same->body, "too many connections from your address");
  auto other = forwarded_for(*behind_proxy, "203.0.113.8");
  EXPECT_EQ(other->status, 101) << "another client behind the same proxy";

  auto not_trusted = one_per_address("10.0.0.0/8");
  auto untrusted_first = forwarded_for(*not_trusted, "203.0.113.7");
  EXPECT_EQ(untrusted_first->status, 101);
  auto spoofed = forwarded_for(*not_trusted, "203.0.113.8");
  EXPECT_EQ(spoofed->status, 503) << "an untrusted peer's header is ignored: both are 127.0.0.1";
}

TEST(Access, TokenCommandAndSecretFileErrorsAreOneLine) {
  TempDir dir;
  std::ofstream(dir / "short") << "too short\n";
  CommandResult start = run_command(
      {LOOPCHAT_SERVER_BIN, "--auth-secret-file", dir / "short", "--port", "0", "--quiet"});
  EXPECT_EQ(start.exit_code, 1);
  EXPECT_NE(start.err.find("HS256 needs at least 32"), std::string::npos) << start.err;
  EXPECT_EQ(start.err.find('\n'), start.err.size() - 1) << start.err;
  std::ofstream(dir / "secret") << kSecret;
  CommandResult bad_sub = run_command(
      {LOOPCHAT_SERVER_BIN, "token", "--secret-file", dir / "secret", "--sub", " padded"});
  EXPECT_EQ(bad_sub.exit_code, 2);
  EXPECT_NE(bad_sub.err.find("sub must be a valid name"), std::string::npos) << bad_sub.err;
  CommandResult bad_ttl = run_command({LOOPCHAT_SERVER_BIN, "token", "--secret-file",
                                       dir / "secret", "--sub", "ann", "--ttl", "soon"});
  EXPECT_EQ(bad_ttl.exit_code, 2);
}

// The member list follows joins, leaves, renames and disconnects, and pages.
TEST(Access, WhoListsTheRoomThroughPresenceChurn) {
  ServerProcess server({"--quiet"});
  run_async([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    std::vector<std::unique_ptr<ChatClient>> people;
    std::set<std::string> expected;
    for (int i = 0; i < 8; ++i) {
      people.push_back(std::make_unique<ChatClient>(ex));
      expected.insert(co_await people.back()->connect(server.port()));
      co_await people.back()->join("w");
    }
    for (int i = 0; i < 3; ++i) {  // three leave: one by leave, two by closing
      expected.erase(people[i]->name());
      if (i == 0) {
        people[i]->send({{"type", "leave"}, {"room", "w"}});
        co_await people[i]->wait_for("left");
      } else {
        people[i]->ws().close_socket();
      }
    }
    expected.erase(people[3]->name());
    people[3]->send({{"type", "nick"}, {"name", "zed"}});
    expected.insert("zed");
    ChatClient& asker = *people.back();
    // The leaves and the nick reach the asker as presence; wait for all four.
    for (int seen = 0; seen < 4;) {
      json p = co_await asker.wait_for("presence");
      seen += p["event"] == "leave" || p["event"] == "nick";
    }
    std::set<std::string> listed;
    std::optional<std::string> after;
    for (int pages = 0; pages < 10; ++pages) {
      json ask = {{"type", "who"}, {"room", "w"}, {"limit", 2}};
      if (after) ask["after"] = *after;
      asker.send(ask);
      json page = co_await asker.wait_for("who");
      CO_REQUIRE(page["names"].size() <= 2u);
      for (const auto& name : page["names"]) listed.insert(name.get<std::string>());
      if (!page.value("truncated", false)) break;
      after = page["names"].back().get<std::string>();
    }
    EXPECT_EQ(listed, expected);
  });
}

}  // namespace
}  // namespace loopchat::test
