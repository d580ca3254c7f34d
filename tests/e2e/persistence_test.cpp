// Durable history over real sockets and a real SQLite file: `kill -9` under
// load loses no message any client received, a restart goes on with the
// next seq, every fault at start is a one-line error naming the path, and an
// I/O error at run time keeps the chat going from memory, is counted and
// reported, and heals when the disk takes writes again.
#include <sys/resource.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/chat_client.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/temp_dir.hpp"

namespace loopchat::test {
namespace {

using namespace std::chrono_literals;

// A metric's value from /metrics (-1 when it is not there).
double metric(std::uint16_t port, const std::string& name) {
  std::string text = http_get(port, "/metrics").body;
  std::string key = "\n" + name + " ";
  auto at = text.find(key);
  return at == std::string::npos ? -1 : std::stod(text.substr(at + key.size()));
}

// Every stored message of a room, paged back from the newest with before_seq.
asio::awaitable<std::map<std::uint64_t, std::string>> whole_history(ChatClient& client,
                                                                    const std::string& room) {
  std::map<std::uint64_t, std::string> stored;
  std::optional<std::uint64_t> before;
  while (true) {
    json request = {{"type", "history"}, {"room", room}, {"limit", 500}};
    if (before) request["before_seq"] = *before;
    client.send(request);
    json page = co_await client.wait_for("history");
    if (page["messages"].empty()) break;
    for (const json& m : page["messages"]) stored[m["seq"].get<std::uint64_t>()] = m["text"];
    before = page["messages"].front()["seq"].get<std::uint64_t>();
  }
  co_return stored;
}

asio::awaitable<json> say(ChatClient& client, const std::string& room, const std::string& text) {
  client.send({{"type", "say"}, {"room", room}, {"text", text}});
  while (true) {
    json m = co_await client.wait_for("message");
    if (m["text"] == text) co_return m;
  }
}

TEST(Persistence, KillNineUnderLoadLosesNoMessageAnyClientReceived) {
  TempDir data;
  std::vector<std::string> args = {"--data-dir", data.path(), "--quiet", "--rate",
                                   "100000",     "--burst",   "100000"};
  auto server = std::make_unique<ServerProcess>(args);
  std::map<std::uint64_t, std::string> received;  // by the recorder, seq -> text
  constexpr int kSenders = 4, kKillAfter = 1500;
  std::size_t sent = 0;
  run_async([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    ChatClient recorder(ex);
    co_await recorder.connect(server->port());
    co_await recorder.join("crash");
    std::vector<std::unique_ptr<ChatClient>> senders;
    for (int s = 0; s < kSenders; ++s) {
      senders.push_back(std::make_unique<ChatClient>(ex));
      co_await senders.back()->connect(server->port());
      co_await senders.back()->join("crash");
    }
    // Each sender says one more for every frame the recorder reads, so the
    // stream runs ahead of the recorder until the kill, however slow the
    // machine: the server dies with messages still coming in.
    for (int round = 0; received.size() < kKillAfter; ++round) {
      for (int s = 0; s < kSenders; ++s, ++sent)
        senders[s]->send({{"type", "say"},
                          {"room", "crash"},
                          {"text", "s" + std::to_string(s) + "-" + std::to_string(round)}});
      json m = co_await recorder.next();
      if (m["type"] == "message") received[m["seq"].get<std::uint64_t>()] = m["text"];
    }
    server->signal(SIGKILL);
    try {  // what was already on its way to the recorder counts too
      while (true) {
        json m = co_await recorder.next();
        if (m["type"] == "message") received[m["seq"].get<std::uint64_t>()] = m["text"];
      }
    } catch (const std::exception&) {  // the connection ends
    }
  });
  ASSERT_TRUE(server->wait_exit(5s));
  ASSERT_LT(received.size(), sent) << "killed before the end of the stream";
  server.reset();

  ServerProcess restarted(args);
  run_async([&]() -> asio::awaitable<void> {
    ChatClient reader(co_await asio::this_coro::executor);
    co_await reader.connect(restarted.port());
    std::map<std::uint64_t, std::string> stored = co_await whole_history(reader, "crash");
    for (const auto& [seq, text] : received) {
      auto it = stored.find(seq);
      if (it == stored.end()) throw TestFailure("seq " + std::to_string(seq) + " was lost");
      EXPECT_EQ(it->second, text) << "seq " << seq;
    }
    CO_REQUIRE(!stored.empty());
    std::uint64_t last = stored.rbegin()->first;
    EXPECT_EQ(stored.size(), last) << "seqs 1 to " << last << " without a hole";
    EXPECT_GE(last, received.rbegin()->first);
    co_await reader.join("crash");
    json next = co_await say(reader, "crash", "after the crash");
    EXPECT_EQ(next["seq"].get<std::uint64_t>(), last + 1) << "the seq goes on where it stopped";
  });
}

// What a server that cannot start says: exit status 1 and one line.
void expect_refused(const std::vector<std::string>& args, const std::string& reason) {
  std::vector<std::string> argv = {LOOPCHAT_SERVER_BIN, "--bind", "127.0.0.1", "--port", "0"};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandResult result = run_command(argv);
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_NE(result.err.find(reason), std::string::npos) << result.err;
  EXPECT_EQ(result.err.find('\n'), result.err.size() - 1) << "one line:\n" << result.err;
  EXPECT_EQ(result.out.find("listening"), std::string::npos);
}

TEST(Persistence, AnUnwritableFolderStopsTheStartNamingIt) {
  TempDir dir;
  std::ofstream(dir / "file") << "a file, not a folder";
  expect_refused({"--data-dir", dir / "file/data", "--quiet"},
                 "cannot create data folder " + (dir / "file/data"));
}

TEST(Persistence, ACorruptDatabaseStopsTheStartNamingIt) {
  TempDir dir;
  std::ofstream(dir / "loopchat.db") << std::string(8192, '#');
  expect_refused({"--data-dir", dir.path(), "--quiet"},
                 "cannot use database " + (dir / "loopchat.db") + ": ");
}

TEST(Persistence, AFolderHeldByARunningServerStopsTheStartNamingIt) {
  TempDir dir;
  ServerProcess first({"--data-dir", dir.path(), "--quiet"});
  expect_refused({"--data-dir", dir.path(), "--quiet"},
                 "data folder " + dir.path() + " is in use by another loopchat-server (pid " +
                     std::to_string(first.pid()) + ")");
}

// The server's file size limit (RLIMIT_FSIZE, set from outside with
// prlimit) makes every write past the log's current end fail with EFBIG: a
// real I/O error from the kernel, undone by raising the limit again.
void limit_file_size(pid_t pid, rlim_t bytes) {
  rlimit limit{bytes, RLIM_INFINITY};
  ASSERT_EQ(::prlimit(pid, RLIMIT_FSIZE, &limit, nullptr), 0);
}

TEST(Persistence, AnIoErrorKeepsTheChatGoingIsCountedAndHeals) {
  TempDir data;
  std::vector<std::string> args = {"--data-dir", data.path(),        "--checkpoint-pages",
                                   "1000000",    "--store-retry-ms", "1",
                                   "--quiet"};
  auto server = std::make_unique<ServerProcess>(args);
  std::uint16_t port = server->port();
  std::vector<std::uint64_t> unsaved_seqs;
  run_async([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    ChatClient alice(ex), bob(ex);
    co_await alice.connect(port);
    co_await bob.connect(port);
    co_await alice.join("r");
    co_await bob.join("r");
    co_await say(alice, "r", "stored-1");
    EXPECT_EQ(http_get(port, "/healthz").body, "ok");

    limit_file_size(server->pid(), std::filesystem::file_size(data / "loopchat.db-wal"));
    for (const char* text : {"unsaved-1", "unsaved-2"}) {
      json m = co_await say(alice, "r", text);  // still delivered, to everyone
      json at_bob = co_await say(bob, "r", std::string("bob sees ") + text);
      unsaved_seqs.push_back(m["seq"].get<std::uint64_t>());
      CO_REQUIRE(at_bob["seq"].get<std::uint64_t>() == unsaved_seqs.back() + 1);
      unsaved_seqs.push_back(at_bob["seq"].get<std::uint64_t>());
    }
    // A new room chats from memory too.
    alice.send({{"type", "join"}, {"room", "opened-during-the-fault"}});
    co_await alice.wait_for("joined");
    json first = co_await say(alice, "opened-during-the-fault", "a new room");
    EXPECT_EQ(first["seq"], 1);
    std::string health = http_get(port, "/healthz").body;
    EXPECT_EQ(health.rfind("degraded: history not stored: ", 0), 0u) << health;
    EXPECT_EQ(metric(port, "loopchat_store_degraded"), 1);
    EXPECT_GE(metric(port, "loopchat_store_messages_unsaved_total"), 1);
    EXPECT_GE(metric(port, "loopchat_store_failures_total"), 1);

    limit_file_size(server->pid(), RLIM_INFINITY);
    double unsaved = -1;
    for (int i = 0; i < 200 && http_get(port, "/healthz").body != "ok"; ++i) {
      // Each try is a message: the store tries again with the next one.
      co_await say(alice, "r", "healing-" + std::to_string(i));
      unsaved = metric(port, "loopchat_store_messages_unsaved_total");
    }
    EXPECT_EQ(http_get(port, "/healthz").body, "ok") << "writing again once the disk takes it";
    EXPECT_EQ(metric(port, "loopchat_store_degraded"), 0);
    co_await say(alice, "r", "stored-2");
    EXPECT_EQ(metric(port, "loopchat_store_messages_unsaved_total"), unsaved)
        << "the unsaved stay counted, and no more are added";
  });
  server->signal(SIGKILL);
  ASSERT_TRUE(server->wait_exit(5s));
  server.reset();

  ServerProcess restarted(args);
  run_async([&]() -> asio::awaitable<void> {
    ChatClient reader(co_await asio::this_coro::executor);
    co_await reader.connect(restarted.port());
    std::map<std::uint64_t, std::string> stored = co_await whole_history(reader, "r");
    std::vector<std::string> texts;
    for (const auto& [seq, text] : stored) texts.push_back(text);
    EXPECT_EQ(texts.front(), "stored-1");
    EXPECT_EQ(texts.back(), "stored-2");
    for (std::uint64_t seq : unsaved_seqs) EXPECT_FALSE(stored.contains(seq)) << seq;
    co_await reader.join("r");
    json next = co_await say(reader, "r", "after");
    EXPECT_EQ(next["seq"].get<std::uint64_t>(), stored.rbegin()->first + 1)
        << "no seq a client saw is handed out again";
  });
}

}  // namespace
}  // namespace loopchat::test
