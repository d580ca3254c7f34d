// End-to-end tests of `loopchat` against the real server: a scripted session
// through a pipe, an interactive one on a pseudo-terminal, a reconnect across
// a server restart, and the error exits.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <sstream>

#include "client/cli/room_tracker.hpp"
#include "tests/cli/cli_process.hpp"
#include "tests/cli/fixed_port_server.hpp"
#include "tests/support/chat_client.hpp"
#include "tests/support/nginx_process.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace loopchat::test {
namespace {

using namespace std::chrono_literals;
using Mode = CliProcess::Mode;

std::size_t count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + needle.size()))
    ++n;
  return n;
}

// Messages of `room` that `observer` receives until `n` have come.
asio::awaitable<std::vector<json>> messages(ChatClient& observer, std::size_t n) {
  std::vector<json> got;
  while (got.size() < n) got.push_back(co_await observer.wait_for("message"));
  co_return got;
}

TEST(CliErrors, HelpExitsZero) {
  CliProcess cli({"--help"}, Mode::pipes);
  EXPECT_EQ(cli.wait_exit(), 0);
  EXPECT_NE(cli.out().find("--no-reconnect"), std::string::npos) << cli.out();
  EXPECT_NE(cli.out().find("Exit codes"), std::string::npos) << cli.out();
}

TEST(CliErrors, BadUrlExitsTwo) {
  CliProcess cli({"http://127.0.0.1:1/ws"}, Mode::pipes);
  EXPECT_EQ(cli.wait_exit(), 2);
  EXPECT_NE(cli.err().find("bad URL"), std::string::npos) << cli.err();
}

TEST(CliErrors, BadOptionExitsTwo) {
  CliProcess cli({"--no-such-option"}, Mode::pipes);
  EXPECT_EQ(cli.wait_exit(), 2);
}

TEST(CliErrors, ConnectionRefusedExitsThree) {
  std::string url = "ws://127.0.0.1:" + std::to_string(unused_port()) + "/ws";
  CliProcess cli({url}, Mode::pipes);
  EXPECT_EQ(cli.wait_exit(), 3);
  EXPECT_NE(cli.err().find("cannot connect to " + url), std::string::npos) << cli.err();
}

TEST(CliErrors, ClosedByServerWithoutReconnectExitsFour) {
  ServerProcess server({"--quiet"});
  CliProcess cli({server.url(), "--no-reconnect"}, Mode::pipes);
  cli.write("ready\n");  // once its own line comes back, it is in
  ASSERT_TRUE(cli.wait_for("> ready")) << cli.out() << cli.err();
  server.signal(SIGTERM);
  EXPECT_EQ(cli.wait_exit(), 4);
  EXPECT_NE(cli.err().find("closed by the server: 1001"), std::string::npos) << cli.err();
}

TEST(CliScripted, PipeSessionIsAcknowledgedAndSeenByOthers) {
  ServerProcess server({"--quiet"});
  std::unique_ptr<CliProcess> cli;
  run_async([&]() -> asio::awaitable<void> {
    ChatClient observer(co_await asio::this_coro::executor);
    co_await observer.connect(server.port());
    co_await observer.join("scripts");
    cli = std::make_unique<CliProcess>(std::vector<std::string>{server.url(), "--name", "scripter"},
                                       Mode::pipes);
    cli->write("/join scripts\none\ntwo\nthree\n/nick scripter2\n/history 10\n");
    cli->close_input();
    std::vector<json> got = co_await messages(observer, 3);
    for (std::size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i]["from"], "scripter");
      EXPECT_EQ(got[i]["text"], (std::vector<std::string>{"one", "two", "three"}[i]));
      EXPECT_EQ(got[i]["room"], "scripts");
    }
  });
  ASSERT_TRUE(cli);
  EXPECT_EQ(cli->wait_exit(), 0) << cli->out() << cli->err();
  // Each line once live, once more in the /history answer.
  EXPECT_EQ(count(cli->out(), "<scripter> one"), 2u) << cli->out();
  EXPECT_EQ(count(cli->out(), "<scripter> three"), 2u) << cli->out();
  EXPECT_NE(cli->err().find("you are now known as scripter2"), std::string::npos) << cli->err();
  EXPECT_EQ(cli->out().find("\x1b["), std::string::npos) << "no colours into a pipe";
}

// With authentication the CLI is its token's user; /who lists the room.
TEST(CliScripted, ATokenIsTheNameAndWhoListsTheRoom) {
  TempDir dir;
  std::ofstream(dir / "secret") << "a secret for the CLI test, longer than 32 bytes\n";
  ServerProcess server({"--auth-secret-file", dir / "secret", "--quiet"});
  CommandResult minted = run_command({LOOPCHAT_SERVER_BIN, "token", "--secret-file", dir / "secret",
                                      "--sub", "ann", "--rooms", "team-*"});
  ASSERT_EQ(minted.exit_code, 0) << minted.err;
  std::string token = minted.out.substr(0, minted.out.find('\n'));
  std::unique_ptr<CliProcess> cli;
  run_async([&]() -> asio::awaitable<void> {
    ChatClient bob(co_await asio::this_coro::executor);
    CommandResult bobs = run_command(
        {LOOPCHAT_SERVER_BIN, "token", "--secret-file", dir / "secret", "--sub", "bob"});
    co_await bob.connect(server.port(), "/ws?token=" + bobs.out.substr(0, bobs.out.find('\n')));
    co_await bob.join("team-a");
    cli = std::make_unique<CliProcess>(
        std::vector<std::string>{server.url(), "--token", token, "--room", "team-a"}, Mode::pipes);
    cli->write("/who\nhello\n/join secret\n");
    cli->close_input();
    json m = co_await bob.wait_for("message");
    EXPECT_EQ(m["from"], "ann") << "the token's name";
  });
  ASSERT_TRUE(cli);
  cli->wait_exit();
  EXPECT_NE(cli->out().find("in #team-a: ann, bob"), std::string::npos) << cli->out() << cli->err();
  EXPECT_NE(cli->out().find("cannot join #secret: your token does not let you into secret"),
            std::string::npos)
      << cli->out();
  EXPECT_EQ(cli->err().find(token), std::string::npos) << "the token is never shown";
}

// wss:// as deployed: nginx does TLS in front of loopchat (docs/deploy.md).
TEST(CliTls, ChatsOverWssThroughNginxAndChecksTheCertificate) {
  ServerProcess server({"--quiet", "--trusted-proxy", "127.0.0.1/32"});
  NginxProcess nginx(server.port());
  // The message comes back from the server through nginx: the echo shows it.
  CliProcess trusted({nginx.url(), "--ca-file", nginx.certificate(), "--room", "tls"}, Mode::pipes);
  trusted.write("through nginx\n/history\n");
  trusted.close_input();
  EXPECT_EQ(trusted.wait_exit(), 0) << trusted.err();
  EXPECT_EQ(count(trusted.out(), "> through nginx"), 2u) << "live, then in the history\n"
                                                         << trusted.out();
  // The certificate is self-signed: not trusted without --ca-file...
  CliProcess untrusted({nginx.url(), "--reconnect-attempts", "0"}, Mode::pipes);
  untrusted.close_input();
  EXPECT_EQ(untrusted.wait_exit(), 3) << untrusted.err();
  EXPECT_NE(untrusted.err().find("certificate verify failed"), std::string::npos)
      << untrusted.err();
  // ...unless the check is turned off.
  CliProcess insecure({nginx.url(), "--insecure"}, Mode::pipes);
  insecure.write("/stats\n");
  insecure.close_input();
  EXPECT_EQ(insecure.wait_exit(), 0) << insecure.err();
  EXPECT_NE(insecure.out().find("server stats"), std::string::npos) << insecure.out();
}

TEST(CliScripted, JsonPrintsOneFramePerLine) {
  ServerProcess server({"--quiet"});
  CliProcess cli({server.url(), "--json", "--room", "jq"}, Mode::pipes);
  cli.write("hello json\n/stats\n");
  cli.close_input();
  ASSERT_EQ(cli.wait_exit(), 0) << cli.err();
  std::istringstream lines(cli.out());
  std::string line;
  std::vector<std::string> types;
  while (std::getline(lines, line)) {
    json frame = json::parse(line);  // throws (fails the test) on anything but JSON
    types.push_back(frame.at("type").get<std::string>());
    if (types.back() == "message") {
      EXPECT_EQ(frame["text"], "hello json");
    }
  }
  EXPECT_EQ(types.front(), "welcome");
  EXPECT_NE(std::find(types.begin(), types.end(), "joined"), types.end());
  EXPECT_NE(std::find(types.begin(), types.end(), "message"), types.end());
  EXPECT_NE(std::find(types.begin(), types.end(), "stats"), types.end());
  EXPECT_EQ(types.back(), "pong");  // the final ping: everything before it was answered
}

TEST(CliInteractive, IncomingMessageRedrawsThePartialLine) {
  ServerProcess server({"--quiet"});
  CliProcess cli({server.url(), "--name", "typist", "--room", "pty"}, Mode::pty);
  ASSERT_TRUE(cli.wait_for("you joined #pty")) << cli.out();
  cli.write("half typed");
  ASSERT_TRUE(cli.wait_for("half typed")) << cli.out();

  run_async([&]() -> asio::awaitable<void> {
    ChatClient observer(co_await asio::this_coro::executor);
    co_await observer.connect(server.port());
    co_await observer.join("pty");
    observer.send({{"type", "say"}, {"room", "pty"}, {"text", "meanwhile, a message"}});
    co_await observer.wait_for("message");  // sent (the waits below block this loop)

    auto at = cli.wait_for("meanwhile, a message");
    if (!at) throw TestFailure("the message did not appear: " + cli.out());
    // After it: the row is cleared and the prompt redrawn with the partial line.
    auto redrawn = cli.wait_for("half typed", 5s, *at);
    if (!redrawn) throw TestFailure("the partial line was not redrawn: " + cli.out());
    std::string between = cli.out().substr(*at, *redrawn - *at);
    EXPECT_NE(between.find("\r\x1b[K"), std::string::npos);
    EXPECT_NE(between.find("#pty"), std::string::npos) << "prompt redrawn";

    cli.write(", now finished\r");
    json said = co_await observer.wait_for("message");
    EXPECT_EQ(said["from"], "typist");
    EXPECT_EQ(said["text"], "half typed, now finished");
  });
  cli.write("/quit\r");
  EXPECT_EQ(cli.wait_exit(), 0) << cli.out();
}

TEST(CliInteractive, EditingKeysAndUtf8) {
  ServerProcess server({"--quiet"});
  CliProcess cli({server.url(), "--room", "keys"}, Mode::pty, {"NO_COLOR=1"});
  ASSERT_TRUE(cli.wait_for("you joined #keys")) << cli.out();
  run_async([&]() -> asio::awaitable<void> {
    ChatClient observer(co_await asio::this_coro::executor);
    co_await observer.connect(server.port());
    co_await observer.join("keys");
    // "wörld", Home, "héllo ", End, Backspace, "d!", Left, Left, Ctrl-U... no: Left x2 then "l".
    cli.write(
        "w\xc3\xb6rl\x01h\xc3\xa9llo \x05\x7f"
        "d!\x1b[D\x1b[Dl\r");
    json said = co_await observer.wait_for("message");
    EXPECT_EQ(said["text"], "h\xc3\xa9llo w\xc3\xb6rld!");
  });
  EXPECT_EQ(cli.out().find("\x1b[0m"), std::string::npos) << "NO_COLOR means no colours";
  cli.write("\x03");  // Ctrl-C
  EXPECT_EQ(cli.wait_exit(), 0);
}

// The history is on disk: the restarted server goes on with the room's seq,
// and the CLI fills the gap since the last seq it saw.
TEST(CliReconnect, ServerRestartFillsTheGapOnce) {
  TempDir data;
  auto first = std::make_unique<ServerProcess>(
      std::vector<std::string>{"--quiet", "--data-dir", data.path()});
  std::uint16_t port = first->port();
  // A slow first retry, so that the new server's messages are history by then.
  CliProcess cli({first->url(), "--room", "gap", "--backoff-initial-ms", "1500"}, Mode::pipes);
  cli.write("cli-ready\n");
  ASSERT_TRUE(cli.wait_for("> cli-ready")) << cli.out() << cli.err();
  run_async([&]() -> asio::awaitable<void> {
    ChatClient observer(co_await asio::this_coro::executor);
    co_await observer.connect(port);
    co_await observer.join("gap");
    for (const char* text : {"before-1", "before-2"})
      observer.send({{"type", "say"}, {"room", "gap"}, {"text", text}});
    co_await messages(observer, 2);
  });
  ASSERT_TRUE(cli.wait_for("before-2")) << cli.out() << cli.err();

  first->signal(SIGTERM);
  ASSERT_TRUE(first->wait_exit(5s));
  first.reset();
  FixedPortServer second(port, data.path());
  run_async([&]() -> asio::awaitable<void> {
    ChatClient observer(co_await asio::this_coro::executor);
    co_await observer.connect(port);
    co_await observer.join("gap");
    for (const char* text : {"after-1", "after-2", "after-3"})
      observer.send({{"type", "say"}, {"room", "gap"}, {"text", text}});
    std::vector<json> after = co_await messages(observer, 3);
    EXPECT_EQ(after.front()["seq"], 4)
        << "the seq goes on after the restart (cli-ready, before-1, before-2)";
    if (!cli.wait_for("after-3", 15s)) throw TestFailure("no gap fill: " + cli.out() + cli.err());
    // The gap was filled from history, not live: the CLI was not back yet.
    if (cli.err().find("rejoined #gap") == std::string::npos)
      throw TestFailure("did not rejoin: " + cli.err());
    observer.send({{"type", "say"}, {"room", "gap"}, {"text", "after-4"}});
    co_await observer.wait_for("message");
    if (!cli.wait_for("after-4")) throw TestFailure("no live message after the refill");
  });
  for (const char* text :
       {"cli-ready", "before-1", "before-2", "after-1", "after-2", "after-3", "after-4"})
    EXPECT_EQ(count(cli.out(), std::string("> ") + text + "\n"), 1u) << text << "\n" << cli.out();
  EXPECT_NE(cli.err().find("reconnecting in"), std::string::npos) << cli.err();
  cli.close_input();
  EXPECT_EQ(cli.wait_exit(), 0) << cli.err();
}

// Each of `texts` once as a message line, in this order: the texts that are
// not (missing, repeated, or before the one ahead of them in the list).
std::vector<std::string> not_once_in_order(const std::string& out,
                                           const std::vector<std::string>& texts) {
  std::vector<std::string> wrong;
  std::size_t at = 0;
  for (const std::string& text : texts) {
    std::string line = "> " + text + "\n";
    std::size_t found = out.find(line);
    if (count(out, line) != 1 || found < at) wrong.push_back(text);
    if (found != std::string::npos) at = found;
  }
  return wrong;
}

std::vector<std::string> numbered_texts(const std::string& prefix, int first, int last) {
  std::vector<std::string> out;
  for (int i = first; i <= last; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

// The CLI stops (SIGSTOP) without closing; the server drops it for not
// answering its pings, while the room gets more than one history page of
// messages. Resumed, it reconnects and asks since the last seq it saw, page
// after page, until the pages come back short.
TEST(CliReconnect, ADroppedConnectionFillsTheGapPageByPageWithSinceSeq) {
  ServerProcess server({"--quiet", "--history", "500", "--rate", "100000", "--burst", "100000",
                        "--ping-interval-ms", "300", "--ping-timeout-ms", "300",
                        "--close-timeout-ms", "200"});
  CliProcess cli({server.url(), "--name", "sleeper", "--room", "gap", "--backoff-initial-ms", "50"},
                 Mode::pipes);
  cli.write("before the drop\n");
  ASSERT_TRUE(cli.wait_for("> before the drop")) << cli.out() << cli.err();
  const int missed = 2 * static_cast<int>(cli::RoomTracker::kPageMessages) + 50;
  run_async([&]() -> asio::awaitable<void> {
    ChatClient observer(co_await asio::this_coro::executor);
    co_await observer.connect(server.port());
    co_await observer.join("gap");
    cli.signal(SIGSTOP);
    while (true) {  // the server notices the silence and lets the CLI go
      json presence = co_await observer.wait_for("presence");
      if (presence["name"] == "sleeper" && presence["event"] == "leave") break;
    }
    for (const std::string& text : numbered_texts("missed-", 1, missed))
      observer.send({{"type", "say"}, {"room", "gap"}, {"text", text}});
    co_await messages(observer, missed);
    cli.signal(SIGCONT);
  });
  ASSERT_TRUE(cli.wait_for("> missed-" + std::to_string(missed) + "\n", 20s))
      << cli.out() << cli.err();
  EXPECT_EQ(not_once_in_order(cli.out(), numbered_texts("missed-", 1, missed)),
            std::vector<std::string>{})
      << cli.err();
  EXPECT_EQ(count(cli.out(), "> before the drop\n"), 1u);
  EXPECT_NE(cli.err().find(std::to_string(missed) + " new in #gap while disconnected"),
            std::string::npos)
      << cli.err();
  EXPECT_EQ(cli.err().find("more was missed"), std::string::npos) << cli.err();
  cli.close_input();
  EXPECT_EQ(cli.wait_exit(), 0) << cli.err();
}

// /more pages back from the oldest message seen, with before_seq.
TEST(CliScripted, MorePagesBackFromTheOldestSeen) {
  ServerProcess server({"--quiet", "--rate", "100000", "--burst", "100000"});
  run_async([&]() -> asio::awaitable<void> {
    ChatClient poster(co_await asio::this_coro::executor);
    co_await poster.connect(server.port());
    co_await poster.join("old");
    for (const std::string& text : numbered_texts("old-", 1, 30))
      poster.send({{"type", "say"}, {"room", "old"}, {"text", text}});
    co_await messages(poster, 30);
  });
  CliProcess cli({server.url(), "--room", "old"}, Mode::pipes);
  cli.write("joined\n");  // its echo comes after the join's history: old-21..30 are seen
  ASSERT_TRUE(cli.wait_for("> joined")) << cli.out() << cli.err();
  cli.write("/more 15\n");
  ASSERT_TRUE(cli.wait_for("> old-20\n")) << cli.out() << cli.err();
  cli.write("/more 100\n");
  ASSERT_TRUE(cli.wait_for("> old-5\n")) << cli.out() << cli.err();
  cli.write("/more\n");
  cli.close_input();
  EXPECT_EQ(cli.wait_exit(), 0) << cli.err();
  // Scripts get no context on joining: only what /more brought, oldest first per page.
  EXPECT_EQ(not_once_in_order(cli.out(), numbered_texts("old-", 6, 20)), std::vector<std::string>{})
      << cli.out();
  std::size_t second_page = cli.out().find("> old-1\n");
  ASSERT_NE(second_page, std::string::npos) << cli.out();
  EXPECT_GT(second_page, cli.out().find("> old-20\n"));
  EXPECT_EQ(not_once_in_order(cli.out().substr(second_page), numbered_texts("old-", 1, 5)),
            std::vector<std::string>{});
  EXPECT_EQ(cli.out().find("> old-21\n"), std::string::npos) << cli.out();
  EXPECT_NE(cli.err().find("15 earlier messages of #old"), std::string::npos) << cli.err();
  EXPECT_NE(cli.err().find("#old has no older messages"), std::string::npos) << cli.err();
}

}  // namespace
}  // namespace loopchat::test
