// The codec of protocol v1: requests validated into typed structs or the right
// error code, and every encode/decode pair round-tripping.
#include "common/codec.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace loopchat::protocol {
namespace {

using json = nlohmann::json;

// prefix + n + suffix, built by appending (GCC 12 warns falsely on "x" + string).
std::string numbered(std::string_view prefix, long long n, std::string_view suffix = {}) {
  std::string out(prefix);
  out += std::to_string(n);
  out += suffix;
  return out;
}

std::string repeat(std::string_view piece, std::size_t times) {
  std::string out;
  for (std::size_t i = 0; i < times; ++i) out += piece;
  return out;
}

Request expect_request(std::string_view frame, const RequestRules& rules = {}) {
  DecodedRequest decoded = decode_request(frame, rules);
  if (const Error* error = std::get_if<Error>(&decoded)) {
    ADD_FAILURE() << "frame " << frame << " was refused with " << to_string(error->code) << ": "
                  << error->message;
    return {};
  }
  return std::get<Request>(decoded);
}

template <typename T>
T expect_body(std::string_view frame, const RequestRules& rules = {}) {
  Request request = expect_request(frame, rules);
  const T* body = std::get_if<T>(&request.body);
  if (body == nullptr) {
    ADD_FAILURE() << "frame " << frame << " decoded into body index " << request.body.index();
    return {};
  }
  return *body;
}

Error expect_error(std::string_view frame, const RequestRules& rules = {}) {
  DecodedRequest decoded = decode_request(frame, rules);
  if (const Error* error = std::get_if<Error>(&decoded)) return *error;
  ADD_FAILURE() << "frame " << frame << " was accepted";
  return {};
}

// A frame built by the JSON library (escaping long or multibyte strings right).
std::string frame_of(const json& object) {
  return object.dump();
}

// ------------------------------------------------------- request types

TEST(CodecDecode, Join) {
  Join join = expect_body<Join>(R"({"type":"join","room":"lobby"})");
  EXPECT_EQ(join.room, "lobby");
}

TEST(CodecDecode, Leave) {
  Leave leave = expect_body<Leave>(R"({"type":"leave","room":"dev.ops"})");
  EXPECT_EQ(leave.room, "dev.ops");
}

TEST(CodecDecode, Nick) {
  Nick nick = expect_body<Nick>(R"({"type":"nick","name":"Ada Lovelace"})");
  EXPECT_EQ(nick.name, "Ada Lovelace");
}

TEST(CodecDecode, Say) {
  Say say = expect_body<Say>(R"({"type":"say","room":"r_1","text":"hello \"world\"\n"})");
  EXPECT_EQ(say.room, "r_1");
  EXPECT_EQ(say.text, "hello \"world\"\n");
}

TEST(CodecDecode, SayEmptyTextIsAllowed) {
  Say say = expect_body<Say>(R"({"type":"say","room":"r","text":""})");
  EXPECT_EQ(say.text, "");
}

TEST(CodecDecode, HistoryWithoutLimit) {
  HistoryRequest history = expect_body<HistoryRequest>(R"({"type":"history","room":"a"})");
  EXPECT_EQ(history.room, "a");
  EXPECT_FALSE(history.limit.has_value());
}

TEST(CodecDecode, HistoryWithLimit) {
  HistoryRequest history =
      expect_body<HistoryRequest>(R"({"type":"history","room":"a","limit":17})");
  EXPECT_EQ(history.room, "a");
  ASSERT_TRUE(history.limit.has_value());
  EXPECT_EQ(*history.limit, 17u);
}

TEST(CodecDecode, HistoryWithLimitZero) {
  HistoryRequest history =
      expect_body<HistoryRequest>(R"({"type":"history","room":"a","limit":0})");
  ASSERT_TRUE(history.limit.has_value());
  EXPECT_EQ(*history.limit, 0u);
}

TEST(CodecDecode, HistoryPagingExtensions) {
  HistoryRequest plain = expect_body<HistoryRequest>(R"({"type":"history","room":"a"})");
  EXPECT_FALSE(plain.before_seq.has_value());
  EXPECT_FALSE(plain.since_seq.has_value());
  HistoryRequest before =
      expect_body<HistoryRequest>(R"({"type":"history","room":"a","limit":5,"before_seq":120})");
  EXPECT_EQ(before.limit, 5u);
  EXPECT_EQ(before.before_seq, 120u);
  EXPECT_FALSE(before.since_seq.has_value());
  HistoryRequest since =
      expect_body<HistoryRequest>(R"({"type":"history","room":"a","since_seq":0})");
  EXPECT_EQ(since.since_seq, 0u);
  EXPECT_FALSE(since.before_seq.has_value());
  HistoryRequest largest = expect_body<HistoryRequest>(
      R"({"type":"history","room":"a","since_seq":18446744073709551615,"before_seq":-0})");
  EXPECT_EQ(largest.since_seq, UINT64_MAX);
  EXPECT_EQ(largest.before_seq, 0u);
}

TEST(CodecDecode, HistorySeqMustBeANonNegativeInteger) {
  for (std::string_view name : {"before_seq", "since_seq"}) {
    for (std::string_view value :
         {"-1", "1.5", "1e3", "\"7\"", "null", "true", "[1]", "{}", "18446744073709551616"}) {
      std::string frame = R"({"type":"history","room":"a","id":"q",")";
      frame += name;
      frame += "\":";
      frame += value;
      frame += "}";
      Error error = expect_error(frame);
      EXPECT_EQ(error.code, ErrorCode::bad_request) << frame;
      EXPECT_NE(error.message.find(name), std::string::npos) << error.message;
      EXPECT_EQ(error.id, RequestId(std::string("q"))) << frame;
    }
  }
}

TEST(CodecDecode, Ping) {
  Request request = expect_request(R"({"type":"ping"})");
  EXPECT_TRUE(std::holds_alternative<Ping>(request.body));
  EXPECT_TRUE(std::holds_alternative<std::monostate>(request.id));
}

TEST(CodecDecode, Remind) {
  Remind remind = expect_body<Remind>(R"({"type":"remind","after_ms":1500,"text":"tea"})");
  EXPECT_EQ(remind.after_ms, 1500);
  EXPECT_EQ(remind.text, "tea");
}

TEST(CodecDecode, RemindAtTheMaximumDelay) {
  RequestRules rules;
  rules.max_after_ms = 5000;
  Remind remind = expect_body<Remind>(R"({"type":"remind","after_ms":5000,"text":"x"})", rules);
  EXPECT_EQ(remind.after_ms, 5000);
}

TEST(CodecDecode, FetchWithoutRoom) {
  Fetch fetch = expect_body<Fetch>(R"({"type":"fetch","url":"https://example.org/a?b=c"})");
  EXPECT_EQ(fetch.url, "https://example.org/a?b=c");
  EXPECT_FALSE(fetch.room.has_value());
}

TEST(CodecDecode, FetchWithRoom) {
  Fetch fetch = expect_body<Fetch>(R"({"type":"fetch","url":"http://x.test/","room":"links"})");
  EXPECT_EQ(fetch.url, "http://x.test/");
  ASSERT_TRUE(fetch.room.has_value());
  EXPECT_EQ(*fetch.room, "links");
}

TEST(CodecDecode, FetchWithBadRoom) {
  EXPECT_EQ(expect_error(R"({"type":"fetch","url":"http://x.test/","room":"a b"})").code,
            ErrorCode::bad_room);
}

TEST(CodecDecode, Stats) {
  Request request = expect_request(R"({"type":"stats","id":3})");
  EXPECT_TRUE(std::holds_alternative<StatsRequest>(request.body));
  EXPECT_EQ(request.id, RequestId(std::int64_t{3}));
}

TEST(CodecDecode, UnknownFieldsAreIgnored) {
  Join join = expect_body<Join>(
      R"({"extra":[1,2,{"x":null}],"type":"join","room":"lobby","colour":"blue","n":1.5})");
  EXPECT_EQ(join.room, "lobby");
}

// ------------------------------------------------------------------ ids

TEST(CodecId, StringIdIsKept) {
  Request request = expect_request(R"({"type":"ping","id":"abc-1"})");
  EXPECT_EQ(request.id, RequestId(std::string("abc-1")));
}

TEST(CodecId, IntegerIdIsKept) {
  Request request = expect_request(R"({"type":"ping","id":-42})");
  EXPECT_EQ(request.id, RequestId(std::int64_t{-42}));
  Request big = expect_request(R"({"type":"ping","id":9007199254740993})");
  EXPECT_EQ(big.id, RequestId(std::int64_t{9007199254740993}));
}

TEST(CodecId, StringIdOf64CharactersIsKept) {
  std::string id = repeat("i", 64);
  Request request = expect_request(frame_of({{"type", "ping"}, {"id", id}}));
  EXPECT_EQ(request.id, RequestId(id));
}

TEST(CodecId, StringIdOf65CharactersIsBadRequest) {
  Error error = expect_error(frame_of({{"type", "ping"}, {"id", repeat("i", 65)}}));
  EXPECT_EQ(error.code, ErrorCode::bad_request);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(error.id));
}

TEST(CodecId, FloatIdIsBadRequest) {
  EXPECT_EQ(expect_error(R"({"type":"ping","id":1.5})").code, ErrorCode::bad_request);
}

TEST(CodecId, ObjectIdIsBadRequest) {
  EXPECT_EQ(expect_error(R"({"type":"ping","id":{"a":1}})").code, ErrorCode::bad_request);
}

TEST(CodecId, ArrayAndBoolIdsAreBadRequest) {
  EXPECT_EQ(expect_error(R"({"type":"ping","id":[1]})").code, ErrorCode::bad_request);
  EXPECT_EQ(expect_error(R"({"type":"ping","id":true})").code, ErrorCode::bad_request);
}

TEST(CodecId, IntegerIdBeyondInt64IsBadRequest) {
  EXPECT_EQ(expect_error(R"({"type":"ping","id":18446744073709551615})").code,
            ErrorCode::bad_request);
}

// ------------------------------------------------------------ malformed

TEST(CodecMalformed, NotJsonIsBadJson) {
  for (std::string_view frame :
       {"", "hello", "{", R"({"type":"ping")", R"({"type":ping})", R"({"type":"ping"} trailing)"})
    EXPECT_EQ(expect_error(frame).code, ErrorCode::bad_json) << frame;
}

TEST(CodecMalformed, JsonThatIsNotAnObjectIsBadJson) {
  for (std::string_view frame :
       {R"([{"type":"ping"}])", "[]", "42", "-1.5", R"("ping")", "true", "null"})
    EXPECT_EQ(expect_error(frame).code, ErrorCode::bad_json) << frame;
}

TEST(CodecMalformed, MissingTypeIsBadRequest) {
  Error error = expect_error(R"({"room":"lobby","id":"q"})");
  EXPECT_EQ(error.code, ErrorCode::bad_request);
  EXPECT_EQ(error.id, RequestId(std::string("q")));
}

TEST(CodecMalformed, NonStringTypeIsBadRequest) {
  for (std::string_view frame :
       {R"({"type":1})", R"({"type":null})", R"({"type":["join"]})", R"({"type":{"name":"join"}})"})
    EXPECT_EQ(expect_error(frame).code, ErrorCode::bad_request) << frame;
}

TEST(CodecMalformed, UnknownTypeEchoesTheId) {
  Error with_string = expect_error(R"({"type":"dance","id":"d1"})");
  EXPECT_EQ(with_string.code, ErrorCode::unknown_type);
  EXPECT_EQ(with_string.id, RequestId(std::string("d1")));

  Error with_integer = expect_error(R"({"id":77,"type":"JOIN","room":"x"})");
  EXPECT_EQ(with_integer.code, ErrorCode::unknown_type);
  EXPECT_EQ(with_integer.id, RequestId(std::int64_t{77}));

  Error without_id = expect_error(R"({"type":""})");
  EXPECT_EQ(without_id.code, ErrorCode::unknown_type);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(without_id.id));
}

TEST(CodecMalformed, ErrorsOfKnownTypesEchoTheId) {
  Error error = expect_error(R"({"type":"join","id":"j7"})");
  EXPECT_EQ(error.code, ErrorCode::bad_request);
  EXPECT_EQ(error.id, RequestId(std::string("j7")));
  Error room = expect_error(R"({"type":"join","room":"a/b","id":8})");
  EXPECT_EQ(room.code, ErrorCode::bad_room);
  EXPECT_EQ(room.id, RequestId(std::int64_t{8}));
}

TEST(CodecMalformed, MissingFieldIsBadRequest) {
  for (std::string_view frame :
       {R"({"type":"join"})", R"({"type":"leave"})", R"({"type":"nick"})",
        R"({"type":"say","room":"r"})", R"({"type":"say","text":"t"})", R"({"type":"history"})",
        R"({"type":"remind","text":"t"})", R"({"type":"remind","after_ms":10})",
        R"({"type":"fetch"})", R"({"type":"fetch","room":"r"})"})
    EXPECT_EQ(expect_error(frame).code, ErrorCode::bad_request) << frame;
}

TEST(CodecMalformed, WrongKindOfFieldIsBadRequest) {
  for (std::string_view frame : {
           R"({"type":"join","room":5})",
           R"({"type":"join","room":null})",
           R"({"type":"leave","room":["a"]})",
           R"({"type":"nick","name":7})",
           R"({"type":"say","room":"r","text":["a"]})",
           R"({"type":"say","room":"r","text":{"t":"a"}})",
           R"({"type":"say","room":5,"text":"a"})",
           R"({"type":"remind","after_ms":"10","text":"t"})",
           R"({"type":"remind","after_ms":10.5,"text":"t"})",
           R"({"type":"remind","after_ms":10,"text":3})",
           R"({"type":"history","room":"r","limit":-1})",
           R"({"type":"history","room":"r","limit":"5"})",
           R"({"type":"history","room":"r","limit":2.5})",
           R"({"type":"fetch","url":42})",
           R"({"type":"fetch","url":"http://x/","room":1})",
       })
    EXPECT_EQ(expect_error(frame).code, ErrorCode::bad_request) << frame;
}

TEST(CodecMalformed, RemindDelayOutOfRangeIsBadRequest) {
  RequestRules rules;
  rules.max_after_ms = 5000;
  EXPECT_EQ(expect_error(R"({"type":"remind","after_ms":5001,"text":"x"})", rules).code,
            ErrorCode::bad_request);
  EXPECT_EQ(expect_error(R"({"type":"remind","after_ms":-1,"text":"x"})", rules).code,
            ErrorCode::bad_request);
  // The default maximum is a day.
  std::int64_t day = RequestRules{}.max_after_ms;
  EXPECT_EQ(expect_error(frame_of({{"type", "remind"}, {"after_ms", day + 1}, {"text", "x"}})).code,
            ErrorCode::bad_request);
  EXPECT_EQ(expect_body<Remind>(frame_of({{"type", "remind"}, {"after_ms", day}, {"text", "x"}}))
                .after_ms,
            day);
}

// ------------------------------------------------------------- room names

std::string join_frame(std::string_view room) {
  return frame_of({{"type", "join"}, {"room", std::string(room)}});
}

TEST(CodecRoom, InvalidRoomNamesAreBadRoom) {
  for (std::string room :
       {std::string(""), repeat("r", 65), std::string("two words"), std::string("a/b"),
        std::string("caf\xC3\xA9"), std::string("\xE2\x82\xAC"), std::string(" lead"),
        std::string("tab\t"), std::string("q?"), std::string("a:b")}) {
    Error error = expect_error(join_frame(room));
    EXPECT_EQ(error.code, ErrorCode::bad_room) << room;
  }
}

TEST(CodecRoom, InvalidRoomInOtherRequestsIsBadRoom) {
  EXPECT_EQ(expect_error(R"({"type":"leave","room":""})").code, ErrorCode::bad_room);
  EXPECT_EQ(expect_error(R"({"type":"say","room":"a b","text":"x"})").code, ErrorCode::bad_room);
  EXPECT_EQ(expect_error(R"({"type":"history","room":"a/b"})").code, ErrorCode::bad_room);
}

TEST(CodecRoom, SixtyFourCharactersOfTheAllowedSetPass) {
  std::string alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.";
  std::string room = alphabet.substr(0, 64);
  ASSERT_EQ(room.size(), 64u);
  EXPECT_EQ(expect_body<Join>(join_frame(room)).room, room);
  // Every allowed character, including the last ones the 64-char cut drops.
  EXPECT_EQ(expect_body<Join>(join_frame(alphabet.substr(alphabet.size() - 10))).room,
            alphabet.substr(alphabet.size() - 10));
  EXPECT_EQ(expect_body<Join>(join_frame("x")).room, "x");
}

TEST(CodecRoom, RulesSetTheLimit) {
  RequestRules rules;
  rules.max_room_chars = 8;
  EXPECT_EQ(expect_body<Join>(join_frame("12345678"), rules).room, "12345678");
  EXPECT_EQ(expect_error(join_frame("123456789"), rules).code, ErrorCode::bad_room);
}

// ------------------------------------------------------------------ names

std::string nick_frame(std::string_view name) {
  return frame_of({{"type", "nick"}, {"name", std::string(name)}});
}

TEST(CodecNick, InvalidNamesAreBadName) {
  for (std::string name :
       {std::string(""), repeat("n", 33), std::string("bell\x07"), std::string("new\nline"),
        std::string("del\x7F"), std::string(" ada"), std::string("ada "), std::string(" ")}) {
    Error error = expect_error(nick_frame(name));
    EXPECT_EQ(error.code, ErrorCode::bad_name) << name;
  }
}

TEST(CodecNick, ThirtyTwoMultibyteCharactersPass) {
  std::string two_bytes = repeat("\xC3\xA9", 32);           // é: 64 bytes
  std::string three_bytes = repeat("\xE2\x82\xAC", 32);     // €: 96 bytes
  std::string four_bytes = repeat("\xF0\x9F\x98\x80", 32);  // 😀: 128 bytes
  EXPECT_EQ(expect_body<Nick>(nick_frame(two_bytes)).name, two_bytes);
  EXPECT_EQ(expect_body<Nick>(nick_frame(three_bytes)).name, three_bytes);
  EXPECT_EQ(expect_body<Nick>(nick_frame(four_bytes)).name, four_bytes);
  EXPECT_EQ(expect_body<Nick>(nick_frame(repeat("n", 32))).name, repeat("n", 32));
  EXPECT_EQ(expect_body<Nick>(nick_frame("a b")).name, "a b");
}

TEST(CodecNick, ThirtyThreeMultibyteCharactersAreBadName) {
  EXPECT_EQ(expect_error(nick_frame(repeat("\xC3\xA9", 33))).code, ErrorCode::bad_name);
  EXPECT_EQ(expect_error(nick_frame(repeat("\xF0\x9F\x98\x80", 33))).code, ErrorCode::bad_name);
}

// ------------------------------------------------------------------- text

std::string say_frame(std::string_view text) {
  return frame_of({{"type", "say"}, {"room", "r"}, {"text", std::string(text)}});
}

TEST(CodecText, TextUpToTheMaximumPasses) {
  RequestRules rules;
  rules.max_text_chars = 10;
  EXPECT_EQ(expect_body<Say>(say_frame(repeat("t", 10)), rules).text, repeat("t", 10));
  // Counted in code points: 10 four-byte characters are 40 bytes and pass.
  std::string emoji = repeat("\xF0\x9F\x98\x80", 10);
  EXPECT_EQ(expect_body<Say>(say_frame(emoji), rules).text, emoji);
}

TEST(CodecText, TextOverTheMaximumIsTooLong) {
  RequestRules rules;
  rules.max_text_chars = 10;
  EXPECT_EQ(expect_error(say_frame(repeat("t", 11)), rules).code, ErrorCode::too_long);
  EXPECT_EQ(expect_error(say_frame(repeat("\xC3\xA9", 11)), rules).code, ErrorCode::too_long);
  EXPECT_EQ(expect_error(frame_of({{"type", "remind"}, {"after_ms", 1}, {"text", repeat("t", 11)}}),
                         rules)
                .code,
            ErrorCode::too_long);
}

TEST(CodecText, DefaultMaximum) {
  std::size_t max = RequestRules{}.max_text_chars;
  EXPECT_EQ(expect_body<Say>(say_frame(repeat("x", max))).text.size(), max);
  EXPECT_EQ(expect_error(say_frame(repeat("x", max + 1))).code, ErrorCode::too_long);
}

TEST(CodecText, Utf8LengthCountsCodePoints) {
  EXPECT_EQ(utf8_length(""), 0u);
  EXPECT_EQ(utf8_length("abc"), 3u);
  EXPECT_EQ(utf8_length("\xC3\xA9t\xC3\xA9"), 3u);
  EXPECT_EQ(utf8_length("\xF0\x9F\x98\x80\xE2\x82\xAC"), 2u);
}

// ------------------------------------------------------------ round trips

void expect_round_trip(const Request& request) {
  std::string frame = encode(request);
  Request back = expect_request(frame);
  EXPECT_EQ(back.id, request.id) << frame;
  ASSERT_EQ(back.body.index(), request.body.index()) << frame;
  std::visit(
      [&](const auto& original) {
        using T = std::decay_t<decltype(original)>;
        const T& decoded = std::get<T>(back.body);
        (void)decoded;
        if constexpr (std::is_same_v<T, Join> || std::is_same_v<T, Leave>) {
          EXPECT_EQ(decoded.room, original.room) << frame;
        } else if constexpr (std::is_same_v<T, Nick>) {
          EXPECT_EQ(decoded.name, original.name) << frame;
        } else if constexpr (std::is_same_v<T, Say>) {
          EXPECT_EQ(decoded.room, original.room) << frame;
          EXPECT_EQ(decoded.text, original.text) << frame;
        } else if constexpr (std::is_same_v<T, HistoryRequest>) {
          EXPECT_EQ(decoded.room, original.room) << frame;
          EXPECT_EQ(decoded.limit, original.limit) << frame;
          EXPECT_EQ(decoded.before_seq, original.before_seq) << frame;
          EXPECT_EQ(decoded.since_seq, original.since_seq) << frame;
        } else if constexpr (std::is_same_v<T, Remind>) {
          EXPECT_EQ(decoded.after_ms, original.after_ms) << frame;
          EXPECT_EQ(decoded.text, original.text) << frame;
        } else if constexpr (std::is_same_v<T, Fetch>) {
          EXPECT_EQ(decoded.url, original.url) << frame;
          EXPECT_EQ(decoded.room, original.room) << frame;
        }
      },
      request.body);
}

TEST(CodecRoundTrip, EveryRequestType) {
  const std::vector<Request> requests = {
      {{}, Join{"lobby"}},
      {std::string("l-1"), Leave{"x.y_z"}},
      {std::int64_t{5}, Nick{"\xC3\xA9lise \xF0\x9F\x98\x80"}},
      {std::string("s"), Say{"room", "multi\nline \"quoted\" \\ \xE2\x82\xAC"}},
      {{}, HistoryRequest{"room", std::nullopt}},
      {std::int64_t{-9}, HistoryRequest{"room", 0u}},
      {{}, HistoryRequest{"room", 4000000000u}},
      {{}, HistoryRequest{"room", 20u, 41u, std::nullopt}},
      {std::string("h"), HistoryRequest{"room", std::nullopt, std::nullopt, 0u}},
      {{}, HistoryRequest{"room", 1u, UINT64_MAX, UINT64_MAX - 1}},
      {std::string("p"), Ping{}},
      {std::int64_t{1} << 50, Remind{86400000, "wake up"}},
      {{}, Remind{0, ""}},
      {std::string("f"), Fetch{"https://example.org/?q=1&r=2", std::nullopt}},
      {std::int64_t{0}, Fetch{"http://a.test/", std::string("links")}},
      {std::string(64, 'i'), StatsRequest{}},
  };
  for (const Request& request : requests) expect_round_trip(request);
}

TEST(CodecRoundTrip, EncodedRequestCarriesTheType) {
  json object = json::parse(encode(Request{std::string("k"), Say{"r", "t"}}));
  EXPECT_EQ(object["type"], "say");
  EXPECT_EQ(object["id"], "k");
  EXPECT_FALSE(json::parse(encode(Request{{}, Ping{}})).contains("id"));
}

// -------------------------------------------------------------- events

template <typename T>
T event_round_trip(const Event& event) {
  std::string frame = encode(event);
  json parsed = json::parse(frame);  // throws (fails the test) if not JSON
  EXPECT_TRUE(parsed.is_object());
  Event back = decode_event(frame);
  const T* decoded = std::get_if<T>(&back);
  if (decoded == nullptr) {
    ADD_FAILURE() << frame << " decoded into event index " << back.index();
    return {};
  }
  return *decoded;
}

TEST(CodecEvents, Welcome) {
  Welcome back = event_round_trip<Welcome>(Welcome{"guest-7", "loopchat/9.9 (protocol 1)"});
  EXPECT_EQ(back.name, "guest-7");
  EXPECT_EQ(back.version, "loopchat/9.9 (protocol 1)");
  EXPECT_EQ(json::parse(encode(Welcome{"a", "b"}))["type"], "welcome");
}

TEST(CodecEvents, JoinedAndLeft) {
  Joined joined = event_round_trip<Joined>(Joined{"lobby", 12, std::string("j1")});
  EXPECT_EQ(joined.room, "lobby");
  EXPECT_EQ(joined.members, 12u);
  EXPECT_EQ(joined.id, RequestId(std::string("j1")));
  Left left = event_round_trip<Left>(Left{"hall", 3, std::int64_t{99}});
  EXPECT_EQ(left.room, "hall");
  EXPECT_EQ(left.members, 3u);
  EXPECT_EQ(left.id, RequestId(std::int64_t{99}));
  Left no_id = event_round_trip<Left>(Left{"hall", 0, {}});
  EXPECT_TRUE(std::holds_alternative<std::monostate>(no_id.id));
}

TEST(CodecEvents, PresenceEveryEvent) {
  for (PresenceEvent what : {PresenceEvent::join, PresenceEvent::leave, PresenceEvent::nick}) {
    Presence back = event_round_trip<Presence>(Presence{"room", "bob", what, std::nullopt});
    EXPECT_EQ(back.room, "room");
    EXPECT_EQ(back.name, "bob");
    EXPECT_EQ(back.event, what);
  }
  EXPECT_EQ(json::parse(encode(Presence{"r", "n", PresenceEvent::leave, std::nullopt}))["event"],
            "leave");
  EXPECT_EQ(json::parse(encode(Presence{"r", "n", PresenceEvent::nick, "o"}))["event"], "nick");
}

TEST(CodecEvents, Message) {
  Message original{"r", "ann", "hi \xE2\x82\xAC", 41, 1700000000123, std::string("m")};
  Message back = event_round_trip<Message>(original);
  EXPECT_EQ(back.room, original.room);
  EXPECT_EQ(back.from, original.from);
  EXPECT_EQ(back.text, original.text);
  EXPECT_EQ(back.seq, original.seq);
  EXPECT_EQ(back.ts, original.ts);
  EXPECT_EQ(back.id, original.id);
}

TEST(CodecEvents, History) {
  History original{
      "r",
      {Message{"r", "a", "one", 1, 10, std::int64_t{1}}, Message{"r", "b", "two", 2, 20, {}}},
      std::string("h")};
  History back = event_round_trip<History>(original);
  EXPECT_EQ(back.room, "r");
  EXPECT_EQ(back.id, RequestId(std::string("h")));
  ASSERT_EQ(back.messages.size(), 2u);
  EXPECT_EQ(back.messages[0].from, "a");
  EXPECT_EQ(back.messages[0].text, "one");
  EXPECT_EQ(back.messages[0].seq, 1u);
  EXPECT_EQ(back.messages[0].ts, 10);
  EXPECT_EQ(back.messages[0].id, RequestId(std::int64_t{1}));
  EXPECT_EQ(back.messages[1].text, "two");
  EXPECT_EQ(back.messages[1].seq, 2u);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(back.messages[1].id));
}

TEST(CodecEvents, HistoryTruncatedOnlyWhenTrue) {
  History trimmed = event_round_trip<History>(History{"r", {}, {}, true});
  EXPECT_TRUE(trimmed.truncated);
  EXPECT_EQ(json::parse(encode(History{"r", {}, {}, true}))["truncated"], true);
  EXPECT_FALSE(event_round_trip<History>(History{"r", {}, {}}).truncated);
  EXPECT_FALSE(json::parse(encode(History{"r", {}, {}})).contains("truncated"));
  // Anything but true reads as not truncated.
  for (std::string_view frame : {R"({"type":"history","room":"r","messages":[],"truncated":false})",
                                 R"({"type":"history","room":"r","messages":[],"truncated":"yes"})",
                                 R"({"type":"history","room":"r","messages":[],"truncated":1})"})
    EXPECT_FALSE(std::get<History>(decode_event(frame)).truncated) << frame;
}

TEST(CodecEvents, FetchedTruncatedOnlyWhenTrue) {
  Fetched cut = event_round_trip<Fetched>(
      Fetched{"http://x/", 200, 65536, 3, std::nullopt, std::string("f"), true});
  EXPECT_TRUE(cut.truncated);
  EXPECT_EQ(cut.bytes, 65536u);
  EXPECT_EQ(json::parse(encode(Fetched{"u", 200, 1, 1, std::nullopt, {}, true}))["truncated"],
            true);
  EXPECT_FALSE(event_round_trip<Fetched>(Fetched{"u", 200, 1, 1, std::nullopt, {}}).truncated);
  EXPECT_FALSE(
      json::parse(encode(Fetched{"u", 200, 1, 1, std::nullopt, {}})).contains("truncated"));
}

TEST(CodecEvents, Pong) {
  Pong back = event_round_trip<Pong>(Pong{1234567, std::string("p")});
  EXPECT_EQ(back.ts, 1234567);
  EXPECT_EQ(back.id, RequestId(std::string("p")));
}

TEST(CodecEvents, Reminder) {
  Reminder back = event_round_trip<Reminder>(Reminder{"tea", 3, std::int64_t{5}});
  EXPECT_EQ(back.text, "tea");
  EXPECT_EQ(back.late_ms, 3);
  EXPECT_EQ(back.id, RequestId(std::int64_t{5}));
}

TEST(CodecEvents, Fetched) {
  Fetched back =
      event_round_trip<Fetched>(Fetched{"https://e.org/", 404, 512, 87, "Not found", {}});
  EXPECT_EQ(back.url, "https://e.org/");
  EXPECT_EQ(back.status, 404);
  EXPECT_EQ(back.bytes, 512u);
  EXPECT_EQ(back.ms, 87);
  EXPECT_EQ(back.title, std::optional<std::string>("Not found"));
  Fetched untitled =
      event_round_trip<Fetched>(Fetched{"u", 200, 0, 1, std::nullopt, std::string("f")});
  EXPECT_FALSE(untitled.title.has_value());
  EXPECT_EQ(untitled.id, RequestId(std::string("f")));
}

TEST(CodecEvents, Stats) {
  Stats original{7, 3, 1000, 5000, {0.25, 1.5, 12.75}, 3600, 1 << 24, std::int64_t{2}};
  Stats back = event_round_trip<Stats>(original);
  EXPECT_EQ(back.connections, 7u);
  EXPECT_EQ(back.rooms, 3u);
  EXPECT_EQ(back.messages_in, 1000u);
  EXPECT_EQ(back.messages_out, 5000u);
  EXPECT_DOUBLE_EQ(back.loop_lag_ms.p50, 0.25);
  EXPECT_DOUBLE_EQ(back.loop_lag_ms.p99, 1.5);
  EXPECT_DOUBLE_EQ(back.loop_lag_ms.max, 12.75);
  EXPECT_EQ(back.uptime_s, 3600);
  EXPECT_EQ(back.rss_bytes, std::uint64_t{1} << 24);
  EXPECT_EQ(back.id, RequestId(std::int64_t{2}));
}

TEST(CodecEvents, ErrorEveryCode) {
  for (int i = 0; i < kErrorCodeCount; ++i) {
    ErrorCode code = static_cast<ErrorCode>(i);
    Error back = event_round_trip<Error>(Error{code, "because", std::string("e")});
    EXPECT_EQ(back.code, code) << to_string(code);
    EXPECT_EQ(back.message, "because");
    EXPECT_EQ(back.id, RequestId(std::string("e")));
    EXPECT_EQ(error_code_from_string(to_string(code)), code);
  }
  EXPECT_EQ(to_string(ErrorCode::not_in_room), "not_in_room");
  EXPECT_FALSE(error_code_from_string("no_such_code").has_value());
}

TEST(CodecEvents, MalformedServerFrames) {
  Event not_json = decode_event("nope");
  ASSERT_TRUE(std::holds_alternative<Error>(not_json));
  EXPECT_EQ(std::get<Error>(not_json).code, ErrorCode::bad_json);
  Event unknown = decode_event(R"({"type":"confetti"})");
  ASSERT_TRUE(std::holds_alternative<Error>(unknown));
  EXPECT_EQ(std::get<Error>(unknown).code, ErrorCode::unknown_type);
  Event wrong_kind = decode_event(R"({"type":"joined","room":"r","members":"many"})");
  ASSERT_TRUE(std::holds_alternative<Error>(wrong_kind));
  EXPECT_EQ(std::get<Error>(wrong_kind).code, ErrorCode::bad_request);
}

// -------------------------------------------------------- encode_history

TEST(CodecHistory, SplicesMessagesVerbatimInOrder) {
  std::vector<std::string> stored;
  for (std::uint64_t seq = 1; seq <= 3; ++seq)
    stored.push_back(encode(Message{"r", numbered("u", seq), numbered("text ", seq), seq,
                                    1000 + std::int64_t(seq), std::int64_t(seq)}));
  std::vector<std::string_view> views(stored.begin(), stored.end());
  std::string frame = encode_history("r", views, std::string("hist-1"));

  for (const std::string& m : stored) EXPECT_NE(frame.find(m), std::string::npos) << m;
  json parsed = json::parse(frame);
  EXPECT_EQ(parsed["type"], "history");
  EXPECT_EQ(parsed["room"], "r");
  EXPECT_EQ(parsed["id"], "hist-1");
  ASSERT_TRUE(parsed["messages"].is_array());
  ASSERT_EQ(parsed["messages"].size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(parsed["messages"][i], json::parse(stored[i]));
    EXPECT_EQ(parsed["messages"][i]["seq"], i + 1);
  }

  History decoded = std::get<History>(decode_event(frame));
  ASSERT_EQ(decoded.messages.size(), 3u);
  EXPECT_EQ(decoded.messages[2].text, "text 3");
  EXPECT_EQ(decoded.id, RequestId(std::string("hist-1")));
}

TEST(CodecHistory, EmptyAndIntegerId) {
  std::string frame = encode_history("empty.room", {}, std::int64_t{12});
  json parsed = json::parse(frame);
  EXPECT_EQ(parsed["room"], "empty.room");
  EXPECT_EQ(parsed["id"], 12);
  EXPECT_TRUE(parsed["messages"].is_array());
  EXPECT_TRUE(parsed["messages"].empty());
  json no_id = json::parse(encode_history("r", {}));
  EXPECT_FALSE(no_id.contains("id"));
}

TEST(CodecHistory, TruncatedIsMarkedOnlyWhenTrue) {
  std::string stored = encode(Message{"r", "a", "t", 9, 1, {}});
  std::string frame = encode_history("r", {stored}, std::string("h"), true);
  json parsed = json::parse(frame);
  EXPECT_EQ(parsed["truncated"], true);
  History decoded = std::get<History>(decode_event(frame));
  EXPECT_TRUE(decoded.truncated);
  ASSERT_EQ(decoded.messages.size(), 1u);
  EXPECT_EQ(decoded.messages[0].seq, 9u);
  EXPECT_FALSE(json::parse(encode_history("r", {stored})).contains("truncated"));
  EXPECT_FALSE(std::get<History>(decode_event(encode_history("r", {stored}))).truncated);
}

TEST(CodecRoundTrip, HistoryRequestCarriesSeqsOnlyWhenSet) {
  json plain = json::parse(encode(Request{{}, HistoryRequest{"r", 5u}}));
  EXPECT_FALSE(plain.contains("before_seq"));
  EXPECT_FALSE(plain.contains("since_seq"));
  json paging = json::parse(encode(Request{{}, HistoryRequest{"r", std::nullopt, 7u, 3u}}));
  EXPECT_EQ(paging["before_seq"], 7u);
  EXPECT_EQ(paging["since_seq"], 3u);
}

// ------------------------------------------------------- key and depth caps

// {"type":"ping", "k0":0, ..., "k<n-1>":0}: n + 1 keys.
std::string ping_with_keys(std::size_t extra, std::string_view head = R"({"type":"ping")") {
  std::string frame(head);
  for (std::size_t i = 0; i < extra; ++i) frame += numbered(",\"k", long(i), "\":0");
  return frame + "}";
}

// A ping whose member x nests `levels` arrays: the request is one level more.
std::string ping_nested(std::size_t levels, std::string_view open = "[",
                        std::string_view close = "]") {
  return R"({"id":"n","type":"ping","x":)" + repeat(open, levels) + "1" + repeat(close, levels) +
         "}";
}

TEST(CodecCaps, SixtyFourKeysPassAndTheSixtyFifthIsBadRequest) {
  ASSERT_EQ(RequestRules{}.max_keys, 64u);
  expect_body<Ping>(ping_with_keys(63));
  Error error = expect_error(ping_with_keys(64));
  EXPECT_EQ(error.code, ErrorCode::bad_request);
  EXPECT_NE(error.message.find("at most 64 keys"), std::string::npos) << error.message;
}

TEST(CodecCaps, KeysOfNestedObjectsCount) {
  // "type", "x" and the members of x: 64 keys in all pass, 65 do not.
  auto ping_with_inner_keys = [](int inner) {
    std::string frame = R"({"type":"ping","x":{)";
    for (int i = 0; i < inner; ++i) frame += numbered(i == 0 ? "\"k" : ",\"k", i, "\":0");
    return frame + "}}";
  };
  expect_body<Ping>(ping_with_inner_keys(62));
  EXPECT_EQ(expect_error(ping_with_inner_keys(63)).code, ErrorCode::bad_request);
}

TEST(CodecCaps, RulesSetTheKeyCap) {
  RequestRules rules;
  rules.max_keys = 4;
  EXPECT_EQ(expect_body<Say>(R"({"type":"say","room":"r","text":"t","id":1})", rules).text, "t");
  EXPECT_EQ(expect_error(R"({"type":"say","room":"r","text":"t","id":1,"x":2})", rules).code,
            ErrorCode::bad_request);
  EXPECT_EQ(expect_error(R"({"type":"say","room":"r","text":"t","x":{"y":1}})", rules).code,
            ErrorCode::bad_request);
}

TEST(CodecCaps, ThousandsOfKeysAreBadRequestWithTheIdReadBeforeThem) {
  std::string frame = ping_with_keys(6500, R"({"id":"many","type":"ping")");
  ASSERT_GT(frame.size(), 60000u);
  Error error = expect_error(frame);
  EXPECT_EQ(error.code, ErrorCode::bad_request);
  EXPECT_EQ(error.id, RequestId(std::string("many")));
}

TEST(CodecCaps, DecodingStopsAtTheCap) {
  // What follows the 65th key is never read: not even its broken JSON.
  std::string frame = ping_with_keys(64);
  frame.back() = ',';
  frame += "this is not JSON";
  EXPECT_EQ(expect_error(frame).code, ErrorCode::bad_request);
  EXPECT_EQ(expect_error(ping_nested(40, "[", "") + "garbage").code, ErrorCode::bad_request);
}

TEST(CodecCaps, EightLevelsPassAndTheNinthIsBadRequest) {
  ASSERT_EQ(RequestRules{}.max_depth, 8u);
  expect_body<Ping>(ping_nested(7));
  expect_body<Ping>(ping_nested(7, R"({"a":)", "}"));
  Error error = expect_error(ping_nested(8));
  EXPECT_EQ(error.code, ErrorCode::bad_request);
  EXPECT_NE(error.message.find("at most 8 levels"), std::string::npos) << error.message;
  EXPECT_EQ(error.id, RequestId(std::string("n")));
  EXPECT_EQ(expect_error(ping_nested(8, R"({"a":)", "}")).code, ErrorCode::bad_request);
  EXPECT_EQ(expect_error(ping_nested(4, R"([{"a":)", "}]")).code, ErrorCode::bad_request);
}

TEST(CodecCaps, DeepNestingIsBadRequest) {
  EXPECT_EQ(expect_error(ping_nested(40)).code, ErrorCode::bad_request);
  EXPECT_EQ(expect_error(ping_nested(100000)).code, ErrorCode::bad_request);
  EXPECT_EQ(expect_error(ping_nested(1000, R"({"a":)", "}")).code, ErrorCode::bad_request);
}

TEST(CodecCaps, RulesSetTheDepthCap) {
  RequestRules rules;
  rules.max_depth = 1;  // the request object only
  expect_body<Ping>(R"({"type":"ping","x":1})", rules);
  EXPECT_EQ(expect_error(R"({"type":"ping","x":[]})", rules).code, ErrorCode::bad_request);
  EXPECT_EQ(expect_error(R"({"type":"ping","x":{}})", rules).code, ErrorCode::bad_request);
}

TEST(CodecCaps, NotAnObjectIsStillBadJson) {
  // The caps never turn a non-object into bad_request.
  EXPECT_EQ(expect_error(repeat("[", 100)).code, ErrorCode::bad_json);
  EXPECT_EQ(expect_error(R"({"type":"ping","id":"q"} {})").code, ErrorCode::bad_json);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(
      expect_error(R"({"id":"q","type":"ping",})").id));  // no id from broken JSON
}

// ---------------------------------------------------------- repeated keys

TEST(CodecRepeatedKeys, AProtocolFieldTwiceIsBadRequest) {
  Error error = expect_error(R"({"type":"join","room":"a","id":3,"room":"b"})");
  EXPECT_EQ(error.code, ErrorCode::bad_request);
  EXPECT_NE(error.message.find("field room appears twice"), std::string::npos) << error.message;
  EXPECT_EQ(error.id, RequestId(std::int64_t{3}));
  EXPECT_EQ(expect_error(R"({"type":"say","type":"join","room":"a","text":"t"})").code,
            ErrorCode::bad_request);
  EXPECT_EQ(expect_error(R"({"type":"history","room":"a","since_seq":1,"since_seq":2})").code,
            ErrorCode::bad_request);
  // Whatever the values: the same twice is still ambiguous to whoever reads it first.
  EXPECT_EQ(expect_error(R"({"type":"ping","type":"ping"})").code, ErrorCode::bad_request);
}

TEST(CodecRepeatedKeys, ARepeatedIdIsNotEchoed) {
  Error error = expect_error(R"({"type":"ping","id":"a","id":"b"})");
  EXPECT_EQ(error.code, ErrorCode::bad_request);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(error.id));
}

TEST(CodecRepeatedKeys, UnknownAndNestedRepeatsAreIgnored) {
  expect_body<Ping>(R"({"type":"ping","x":1,"x":2})");
  EXPECT_EQ(expect_body<Join>(R"({"type":"join","room":"a","x":{"room":"b","room":"c"}})").room,
            "a");
}

TEST(CodecRepeatedKeys, NestedProtocolNamesAreNotFields) {
  EXPECT_EQ(expect_error(R"({"type":"join","x":{"room":"a"}})").code, ErrorCode::bad_request);
  EXPECT_EQ(expect_error(R"({"x":{"type":"ping"}})").code, ErrorCode::bad_request);
  EXPECT_EQ(expect_body<Join>(R"({"x":[{"type":"say"}],"type":"join","room":"r"})").room, "r");
}

// ---------------------------------------------------------- invalid UTF-8

TEST(CodecInvalidUtf8, FetchedTitleDoesNotThrow) {
  Fetched fetched{"http://x/", 200, 10, 5, std::string("bad \xFF\xFE title \xC3"), {}};
  std::string frame;
  EXPECT_NO_THROW(frame = encode(fetched));
  json parsed;
  EXPECT_NO_THROW(parsed = json::parse(frame));
  ASSERT_TRUE(parsed.contains("title"));
  std::string title = parsed["title"];
  EXPECT_EQ(title.rfind("bad ", 0), 0u);
  EXPECT_NE(title.find(" title "), std::string::npos);
}

TEST(CodecInvalidUtf8, OtherEventsAndRequestsDoNotThrow) {
  std::string bad = "x\x80y";
  std::string frame;
  EXPECT_NO_THROW(frame = encode(Message{"r", bad, bad, 1, 1, {}}));
  EXPECT_TRUE(json::accept(frame)) << frame;
  EXPECT_NO_THROW(frame = encode(Request{{}, Say{"r", bad}}));
  EXPECT_TRUE(json::accept(frame)) << frame;
  EXPECT_NO_THROW(frame = encode_history(bad, {}, std::string(bad)));
  EXPECT_TRUE(json::accept(frame)) << frame;
}

}  // namespace
}  // namespace loopchat::protocol
