#include "common/codec.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <bitset>
#include <limits>
#include <optional>

namespace loopchat::protocol {
namespace {

// Frames are written in insertion order ("type" first)...
using json = nlohmann::ordered_json;
// ...and server frames read as a map (logarithmic lookups, whatever the size).
using Document = nlohmann::json;

constexpr std::array<std::string_view, kErrorCodeCount> kErrorNames = {
    "bad_json",     "bad_request",   "unknown_type",    "bad_room",     "bad_name",
    "name_taken",   "not_in_room",   "too_long",        "rate_limited", "fetch_denied",
    "fetch_failed", "fetch_timeout", "too_many_timers", "server_busy",  "forbidden"};

// A request that failed validation: thrown inside the decoder, caught once.
struct Invalid {
  ErrorCode code;
  std::string message;
};

// ------------------------------------------------------------ request reading
//
// A request is read in one pass over its bytes (nlohmann's SAX parser): the
// reader counts keys and nesting and stops at the first cap passed, and keeps
// only the top-level members the protocol names. No document is built, and no
// step costs more than the bytes it reads, whatever the client sends.

// The members a request may carry; any other member is skipped unkept.
enum class Field {
  type,
  id,
  room,
  text,
  name,
  limit,
  after_ms,
  url,
  before_seq,
  since_seq,
  token,
  after
};
constexpr std::array<std::string_view, 12> kFieldNames = {
    "type",     "id",  "room",       "text",      "name",  "limit",
    "after_ms", "url", "before_seq", "since_seq", "token", "after"};

std::optional<Field> field_named(std::string_view name) {
  for (std::size_t i = 0; i < kFieldNames.size(); ++i)
    if (kFieldNames[i] == name) return static_cast<Field>(i);
  return std::nullopt;
}

std::string field_name(Field field) {
  return std::string(kFieldNames[static_cast<std::size_t>(field)]);
}

// A kept member's value: scalars in full, objects and arrays by kind only.
struct Value {
  enum class Kind { null, boolean, integer, natural, floating, string, object, array };
  Kind kind = Kind::null;
  std::string text;           // string
  std::int64_t integer = 0;   // integer: a negative number (or -0)
  std::uint64_t natural = 0;  // natural: a non-negative number
};

using Fields = std::array<std::optional<Value>, kFieldNames.size()>;

class RequestReader {
 public:
  explicit RequestReader(const RequestRules& rules) : rules_(rules) {}

  // The SAX interface (each returns whether to read on).
  bool null() { return scalar(Value::Kind::null); }
  bool boolean(bool) { return scalar(Value::Kind::boolean); }
  bool number_integer(std::int64_t n) { return scalar(Value::Kind::integer, {}, n); }
  bool number_unsigned(std::uint64_t n) { return scalar(Value::Kind::natural, {}, 0, n); }
  bool number_float(double, const std::string&) { return scalar(Value::Kind::floating); }
  bool string(std::string& text) { return scalar(Value::Kind::string, std::move(text)); }
  bool binary(Document::binary_t&) { return scalar(Value::Kind::null); }  // not in JSON text
  bool start_object(std::size_t) { return enter(Value::Kind::object); }
  bool start_array(std::size_t) { return enter(Value::Kind::array); }
  bool end_object() { return leave(); }
  bool end_array() { return leave(); }
  bool key(std::string& name) {
    if (++keys_ > rules_.max_keys)
      return fail(ErrorCode::bad_request,
                  "a request has at most " + std::to_string(rules_.max_keys) + " keys");
    if (depth_ == 1) member_ = field_named(name);
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const Document::exception&) {
    return fail(ErrorCode::bad_json, "frame is not valid JSON");
  }

  const Fields& fields() const { return fields_; }
  const std::optional<Error>& failure() const { return failure_; }
  // Kept members that appeared more than once (the last value is kept).
  bool repeated(Field field) const { return repeated_[static_cast<std::size_t>(field)]; }
  std::optional<Field> first_repeated() const {
    for (std::size_t i = 0; i < kFieldNames.size(); ++i)
      if (repeated_[i]) return static_cast<Field>(i);
    return std::nullopt;
  }

 private:
  bool scalar(Value::Kind kind, std::string text = {}, std::int64_t integer = 0,
              std::uint64_t natural = 0) {
    if (depth_ == 0) return fail(ErrorCode::bad_json, "frame must hold a JSON object");
    keep(Value{.kind = kind, .text = std::move(text), .integer = integer, .natural = natural});
    return true;
  }
  bool enter(Value::Kind kind) {
    if (depth_ == 0 && kind != Value::Kind::object)
      return fail(ErrorCode::bad_json, "frame must hold a JSON object");
    if (depth_ > 0) keep(Value{.kind = kind, .text = {}, .integer = 0, .natural = 0});
    if (++depth_ > rules_.max_depth)
      return fail(ErrorCode::bad_request, "a request nests at most " +
                                              std::to_string(rules_.max_depth) +
                                              " levels of objects and arrays");
    return true;
  }
  bool leave() {
    --depth_;
    return true;
  }
  // A value that begins at the top level belongs to the member named before it.
  void keep(Value value) {
    if (depth_ != 1 || !member_) return;
    std::optional<Value>& slot = fields_[static_cast<std::size_t>(*member_)];
    if (slot) repeated_.set(static_cast<std::size_t>(*member_));
    slot = std::move(value);
    member_.reset();
  }
  bool fail(ErrorCode code, std::string message) {
    if (!failure_) failure_ = Error{code, std::move(message), {}};
    return false;
  }

  const RequestRules& rules_;
  std::size_t keys_ = 0;
  std::size_t depth_ = 0;
  std::optional<Field> member_;  // the top-level member whose value comes next, if kept
  Fields fields_;
  std::bitset<kFieldNames.size()> repeated_;
  std::optional<Error> failure_;
};

const Value* field(const Fields& fields, Field name) {
  const std::optional<Value>& slot = fields[static_cast<std::size_t>(name)];
  return slot ? &*slot : nullptr;
}

std::string required_string(const Fields& fields, Field name) {
  const Value* value = field(fields, name);
  if (value == nullptr) throw Invalid{ErrorCode::bad_request, "missing field " + field_name(name)};
  if (value->kind != Value::Kind::string)
    throw Invalid{ErrorCode::bad_request, "field " + field_name(name) + " must be a string"};
  return value->text;
}

// A JSON integer that fits in 64 signed bits (floats and larger numbers don't).
std::optional<std::int64_t> as_int64(const Value& value) {
  if (value.kind == Value::Kind::integer) return value.integer;
  if (value.kind == Value::Kind::natural &&
      value.natural <= std::uint64_t(std::numeric_limits<std::int64_t>::max()))
    return static_cast<std::int64_t>(value.natural);
  return std::nullopt;
}

std::optional<std::int64_t> optional_integer(const Fields& fields, Field name) {
  const Value* value = field(fields, name);
  if (value == nullptr) return std::nullopt;
  if (auto number = as_int64(*value)) return number;
  throw Invalid{ErrorCode::bad_request, "field " + field_name(name) + " must be an integer"};
}

// A message sequence number: a non-negative integer up to 2^64 - 1.
std::optional<std::uint64_t> optional_seq(const Fields& fields, Field name) {
  const Value* value = field(fields, name);
  if (value == nullptr) return std::nullopt;
  if (value->kind == Value::Kind::natural) return value->natural;
  if (value->kind == Value::Kind::integer && value->integer == 0) return 0;  // -0
  throw Invalid{ErrorCode::bad_request,
                "field " + field_name(name) + " must be a non-negative integer"};
}

// `limit`: a non-negative integer, capped at 2^32 - 1.
std::optional<std::uint32_t> optional_count(const Fields& fields) {
  auto limit = optional_integer(fields, Field::limit);
  if (!limit) return std::nullopt;
  if (*limit < 0) throw Invalid{ErrorCode::bad_request, "limit must not be negative"};
  return static_cast<std::uint32_t>(
      std::min<std::int64_t>(*limit, std::numeric_limits<std::uint32_t>::max()));
}

std::string room_field(const Fields& fields, const RequestRules& rules) {
  std::string room = required_string(fields, Field::room);
  if (!valid_room_name(room, rules.max_room_chars))
    throw Invalid{ErrorCode::bad_room, "room names are 1 to " +
                                           std::to_string(rules.max_room_chars) +
                                           " characters of A-Z a-z 0-9 - _ ."};
  return room;
}

std::string text_field(const Fields& fields, const RequestRules& rules) {
  std::string text = required_string(fields, Field::text);
  if (utf8_length(text) > rules.max_text_chars)
    throw Invalid{ErrorCode::too_long,
                  "text is limited to " + std::to_string(rules.max_text_chars) + " characters"};
  return text;
}

RequestId read_id(const Fields& fields) {
  const Value* value = field(fields, Field::id);
  if (value == nullptr) return {};
  if (value->kind == Value::Kind::string && utf8_length(value->text) <= kMaxIdChars)
    return value->text;
  if (auto number = as_int64(*value)) return *number;
  throw Invalid{ErrorCode::bad_request,
                "id must be an integer or a string of at most 64 characters"};
}

RequestBody read_body(std::string_view type, const Fields& fields, const RequestRules& rules) {
  if (type == "join") return Join{room_field(fields, rules)};
  if (type == "leave") return Leave{room_field(fields, rules)};
  if (type == "say") {
    std::string room = room_field(fields, rules);
    return Say{std::move(room), text_field(fields, rules)};
  }
  if (type == "nick") {
    std::string name = required_string(fields, Field::name);
    if (!valid_nickname(name, rules.max_name_chars))
      throw Invalid{ErrorCode::bad_name,
                    "names are 1 to " + std::to_string(rules.max_name_chars) +
                        " characters, no control characters, no leading or trailing space"};
    return Nick{std::move(name)};
  }
  if (type == "history") {
    HistoryRequest request{room_field(fields, rules), optional_count(fields)};
    request.before_seq = optional_seq(fields, Field::before_seq);
    request.since_seq = optional_seq(fields, Field::since_seq);
    return request;
  }
  if (type == "ping") return Ping{};
  if (type == "stats") return StatsRequest{};
  if (type == "auth") {
    std::string token = required_string(fields, Field::token);
    if (token.size() > rules.max_token_chars)
      throw Invalid{ErrorCode::too_long,
                    "token is limited to " + std::to_string(rules.max_token_chars) + " characters"};
    return AuthRequest{std::move(token)};
  }
  if (type == "who") {
    WhoRequest request{room_field(fields, rules)};
    if (field(fields, Field::after) != nullptr)
      request.after = required_string(fields, Field::after);
    request.limit = optional_count(fields);
    return request;
  }
  if (type == "remind") {
    auto after = optional_integer(fields, Field::after_ms);
    if (!after) throw Invalid{ErrorCode::bad_request, "missing field after_ms"};
    if (*after < 0 || *after > rules.max_after_ms)
      throw Invalid{ErrorCode::bad_request,
                    "after_ms must be 0 to " + std::to_string(rules.max_after_ms)};
    return Remind{*after, text_field(fields, rules)};
  }
  if (type == "fetch") {
    Fetch request{required_string(fields, Field::url), std::nullopt};
    if (request.url.size() > rules.max_url_chars)
      throw Invalid{ErrorCode::too_long,
                    "url is limited to " + std::to_string(rules.max_url_chars) + " characters"};
    if (field(fields, Field::room) != nullptr) request.room = room_field(fields, rules);
    return request;
  }
  throw Invalid{ErrorCode::unknown_type, "unknown type " + std::string(type)};
}

// ------------------------------------------------------------------ encoding

void put_id(json& object, const RequestId& id) {
  if (auto* text = std::get_if<std::string>(&id)) object["id"] = *text;
  if (auto* number = std::get_if<std::int64_t>(&id)) object["id"] = *number;
}

std::string dump(const json& object) {
  // Text from outside (fetched titles) may be invalid UTF-8: replace, never throw.
  return object.dump(-1, ' ', false, json::error_handler_t::replace);
}

json message_json(const Message& m) {
  json object = {{"type", "message"}, {"room", m.room}, {"from", m.from},
                 {"text", m.text},    {"seq", m.seq},   {"ts", m.ts}};
  put_id(object, m.id);
  return object;
}

std::string_view presence_name(PresenceEvent event) {
  switch (event) {
    case PresenceEvent::join:
      return "join";
    case PresenceEvent::leave:
      return "leave";
    case PresenceEvent::nick:
      return "nick";
  }
  return "join";
}

json event_json(const Event& event) {
  return std::visit(
      [](const auto& e) -> json {
        using T = std::decay_t<decltype(e)>;
        json o;
        if constexpr (std::is_same_v<T, Welcome>) {
          o = {{"type", "welcome"}, {"name", e.name}, {"version", e.version}};
        } else if constexpr (std::is_same_v<T, Joined> || std::is_same_v<T, Left>) {
          o = {{"type", std::is_same_v<T, Joined> ? "joined" : "left"},
               {"room", e.room},
               {"members", e.members}};
          put_id(o, e.id);
          if constexpr (std::is_same_v<T, Joined>)
            if (!e.epoch.empty()) o["epoch"] = e.epoch;
        } else if constexpr (std::is_same_v<T, Presence>) {
          o = {{"type", "presence"},
               {"room", e.room},
               {"name", e.name},
               {"event", presence_name(e.event)}};
          if (e.old_name) o["old"] = *e.old_name;
        } else if constexpr (std::is_same_v<T, Message>) {
          o = message_json(e);
        } else if constexpr (std::is_same_v<T, History>) {
          o = {{"type", "history"}, {"room", e.room}, {"messages", json::array()}};
          for (const Message& m : e.messages) o["messages"].push_back(message_json(m));
          put_id(o, e.id);
          if (e.truncated) o["truncated"] = true;
          if (!e.epoch.empty()) o["epoch"] = e.epoch;
        } else if constexpr (std::is_same_v<T, Pong>) {
          o = {{"type", "pong"}, {"ts", e.ts}};
          put_id(o, e.id);
        } else if constexpr (std::is_same_v<T, Reminder>) {
          o = {{"type", "reminder"}, {"text", e.text}, {"late_ms", e.late_ms}};
          put_id(o, e.id);
        } else if constexpr (std::is_same_v<T, Fetched>) {
          o = {{"type", "fetched"},
               {"url", e.url},
               {"status", e.status},
               {"bytes", e.bytes},
               {"ms", e.ms}};
          if (e.title) o["title"] = *e.title;
          put_id(o, e.id);
          if (e.truncated) o["truncated"] = true;
        } else if constexpr (std::is_same_v<T, Authenticated>) {
          o = {{"type", "authenticated"}, {"name", e.name}, {"expires", e.expires}};
          put_id(o, e.id);
        } else if constexpr (std::is_same_v<T, Who>) {
          o = {{"type", "who"}, {"room", e.room}, {"names", e.names}};
          put_id(o, e.id);
          if (e.truncated) o["truncated"] = true;
        } else if constexpr (std::is_same_v<T, Stats>) {
          o = {{"type", "stats"},
               {"connections", e.connections},
               {"rooms", e.rooms},
               {"messages_in", e.messages_in},
               {"messages_out", e.messages_out},
               {"loop_lag_ms",
                {{"p50", e.loop_lag_ms.p50},
                 {"p99", e.loop_lag_ms.p99},
                 {"max", e.loop_lag_ms.max}}},
               {"uptime_s", e.uptime_s},
               {"rss_bytes", e.rss_bytes}};
          put_id(o, e.id);
        } else if constexpr (std::is_same_v<T, Error>) {
          o = {{"type", "error"}, {"code", to_string(e.code)}, {"message", e.message}};
          put_id(o, e.id);
        }
        return o;
      },
      event);
}

// ------------------------------------------------- client-side event reading

const Document* field(const Document& object, const char* name) {
  auto it = object.find(name);
  return it == object.end() ? nullptr : &*it;
}

// Only `true` counts: absent or anything else is false.
bool flag(const Document& object, const char* name) {
  const Document* value = field(object, name);
  return value != nullptr && value->is_boolean() && value->get<bool>();
}

template <typename T>
T get_or(const Document& object, const char* name, T fallback) {
  const Document* value = field(object, name);
  if (value == nullptr || value->is_null()) return fallback;
  try {
    return value->get<T>();
  } catch (const Document::exception&) {
    throw Invalid{ErrorCode::bad_request, std::string("field ") + name + " has the wrong kind"};
  }
}

RequestId event_id(const Document& object) {
  const Document* value = field(object, "id");
  if (value == nullptr) return {};
  if (value->is_string()) return value->get<std::string>();
  if (value->is_number_integer()) return value->get<std::int64_t>();
  return {};
}

Message read_message(const Document& o) {
  return Message{get_or<std::string>(o, "room", ""), get_or<std::string>(o, "from", ""),
                 get_or<std::string>(o, "text", ""), get_or<std::uint64_t>(o, "seq", 0),
                 get_or<std::int64_t>(o, "ts", 0),   event_id(o)};
}

Event read_event(std::string_view type, const Document& o) {
  if (type == "welcome")
    return Welcome{get_or<std::string>(o, "name", ""), get_or<std::string>(o, "version", "")};
  if (type == "joined")
    return Joined{get_or<std::string>(o, "room", ""), get_or<std::uint64_t>(o, "members", 0),
                  event_id(o), get_or<std::string>(o, "epoch", "")};
  if (type == "left")
    return Left{get_or<std::string>(o, "room", ""), get_or<std::uint64_t>(o, "members", 0),
                event_id(o)};
  if (type == "presence") {
    std::string what = get_or<std::string>(o, "event", "");
    PresenceEvent event = what == "leave"  ? PresenceEvent::leave
                          : what == "nick" ? PresenceEvent::nick
                                           : PresenceEvent::join;
    Presence presence{get_or<std::string>(o, "room", ""), get_or<std::string>(o, "name", ""), event,
                      std::nullopt};
    if (const Document* old = field(o, "old"); old != nullptr && old->is_string())
      presence.old_name = old->get<std::string>();
    return presence;
  }
  if (type == "message") return read_message(o);
  if (type == "history") {
    History history{get_or<std::string>(o, "room", ""),
                    {},
                    event_id(o),
                    flag(o, "truncated"),
                    get_or<std::string>(o, "epoch", "")};
    if (const Document* list = field(o, "messages"); list != nullptr && list->is_array())
      for (const Document& m : *list)
        if (m.is_object()) history.messages.push_back(read_message(m));
    return history;
  }
  if (type == "pong") return Pong{get_or<std::int64_t>(o, "ts", 0), event_id(o)};
  if (type == "reminder")
    return Reminder{get_or<std::string>(o, "text", ""), get_or<std::int64_t>(o, "late_ms", 0),
                    event_id(o)};
  if (type == "fetched") {
    Fetched f{get_or<std::string>(o, "url", ""),
              get_or<int>(o, "status", 0),
              get_or<std::uint64_t>(o, "bytes", 0),
              get_or<std::int64_t>(o, "ms", 0),
              std::nullopt,
              event_id(o),
              flag(o, "truncated")};
    if (const Document* title = field(o, "title"); title != nullptr && title->is_string())
      f.title = title->get<std::string>();
    return f;
  }
  if (type == "authenticated")
    return Authenticated{get_or<std::string>(o, "name", ""), get_or<std::int64_t>(o, "expires", 0),
                         event_id(o)};
  if (type == "who") {
    Who who{get_or<std::string>(o, "room", ""), {}, event_id(o), flag(o, "truncated")};
    if (const Document* list = field(o, "names"); list != nullptr && list->is_array())
      for (const Document& name : *list)
        if (name.is_string()) who.names.push_back(name.get<std::string>());
    return who;
  }
  if (type == "stats") {
    Stats s{get_or<std::uint64_t>(o, "connections", 0),
            get_or<std::uint64_t>(o, "rooms", 0),
            get_or<std::uint64_t>(o, "messages_in", 0),
            get_or<std::uint64_t>(o, "messages_out", 0),
            {},
            get_or<std::int64_t>(o, "uptime_s", 0),
            get_or<std::uint64_t>(o, "rss_bytes", 0),
            event_id(o)};
    if (const Document* lag = field(o, "loop_lag_ms"); lag != nullptr && lag->is_object())
      s.loop_lag_ms = {get_or<double>(*lag, "p50", 0), get_or<double>(*lag, "p99", 0),
                       get_or<double>(*lag, "max", 0)};
    return s;
  }
  if (type == "error") {
    auto code = error_code_from_string(get_or<std::string>(o, "code", ""));
    return Error{code.value_or(ErrorCode::bad_request), get_or<std::string>(o, "message", ""),
                 event_id(o)};
  }
  throw Invalid{ErrorCode::unknown_type, "unknown event type " + std::string(type)};
}

}  // namespace

std::string_view to_string(ErrorCode code) {
  return kErrorNames[static_cast<int>(code)];
}

std::optional<ErrorCode> error_code_from_string(std::string_view text) {
  for (int i = 0; i < kErrorCodeCount; ++i)
    if (kErrorNames[i] == text) return static_cast<ErrorCode>(i);
  return std::nullopt;
}

std::size_t utf8_length(std::string_view text) {
  std::size_t count = 0;
  for (unsigned char c : text) count += (c & 0xC0) != 0x80;
  return count;
}

bool valid_room_name(std::string_view room, std::size_t max_chars) {
  if (room.empty() || room.size() > max_chars) return false;
  for (char c : room) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

bool valid_nickname(std::string_view name, std::size_t max_chars) {
  std::size_t length = utf8_length(name);
  if (length == 0 || length > max_chars) return false;
  if (name.front() == ' ' || name.back() == ' ') return false;
  for (unsigned char c : name)
    if (c < 0x20 || c == 0x7F) return false;
  return true;
}

DecodedRequest decode_request(std::string_view frame, const RequestRules& rules) {
  RequestReader reader(rules);
  Document::sax_parse(frame.begin(), frame.end(), &reader);
  const std::optional<Error>& failure = reader.failure();
  if (failure && failure->code == ErrorCode::bad_json) return *failure;
  const Fields& fields = reader.fields();
  RequestId id;
  try {
    if (!reader.repeated(Field::id)) id = read_id(fields);  // a repeated id is not echoed
  } catch (const Invalid& invalid) {
    return failure ? *failure : Error{invalid.code, invalid.message, {}};
  }
  if (failure) return Error{failure->code, failure->message, id};  // a cap was passed
  try {
    if (auto repeated = reader.first_repeated())
      throw Invalid{ErrorCode::bad_request, "field " + field_name(*repeated) + " appears twice"};
    const Value* type = field(fields, Field::type);
    if (type == nullptr || type->kind != Value::Kind::string)
      throw Invalid{ErrorCode::bad_request, "field type must be a string"};
    return Request{id, read_body(type->text, fields, rules)};
  } catch (const Invalid& invalid) {
    return Error{invalid.code, invalid.message, id};
  }
}

std::string encode(const Request& request) {
  json o = std::visit(
      [](const auto& r) -> json {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, Join>) return {{"type", "join"}, {"room", r.room}};
        if constexpr (std::is_same_v<T, Leave>) return {{"type", "leave"}, {"room", r.room}};
        if constexpr (std::is_same_v<T, Nick>) return {{"type", "nick"}, {"name", r.name}};
        if constexpr (std::is_same_v<T, Say>)
          return {{"type", "say"}, {"room", r.room}, {"text", r.text}};
        if constexpr (std::is_same_v<T, HistoryRequest>) {
          json o = {{"type", "history"}, {"room", r.room}};
          if (r.limit) o["limit"] = *r.limit;
          if (r.before_seq) o["before_seq"] = *r.before_seq;
          if (r.since_seq) o["since_seq"] = *r.since_seq;
          return o;
        }
        if constexpr (std::is_same_v<T, Ping>) return {{"type", "ping"}};
        if constexpr (std::is_same_v<T, Remind>)
          return {{"type", "remind"}, {"after_ms", r.after_ms}, {"text", r.text}};
        if constexpr (std::is_same_v<T, Fetch>) {
          json o = {{"type", "fetch"}, {"url", r.url}};
          if (r.room) o["room"] = *r.room;
          return o;
        }
        if constexpr (std::is_same_v<T, StatsRequest>) return {{"type", "stats"}};
        if constexpr (std::is_same_v<T, AuthRequest>) return {{"type", "auth"}, {"token", r.token}};
        if constexpr (std::is_same_v<T, WhoRequest>) {
          json o = {{"type", "who"}, {"room", r.room}};
          if (r.after) o["after"] = *r.after;
          if (r.limit) o["limit"] = *r.limit;
          return o;
        }
      },
      request.body);
  put_id(o, request.id);
  return dump(o);
}

std::string encode(const Event& event) {
  return dump(event_json(event));
}

std::string encode_history(std::string_view room, const std::vector<std::string_view>& messages,
                           const RequestId& id, bool truncated, std::string_view epoch) {
  json head = {{"type", "history"}, {"room", room}};
  put_id(head, id);
  if (truncated) head["truncated"] = true;
  if (!epoch.empty()) head["epoch"] = epoch;
  std::string out = dump(head);
  out.pop_back();  // reopen the object to splice the stored messages in verbatim
  out += ",\"messages\":[";
  for (std::size_t i = 0; i < messages.size(); ++i) {
    if (i > 0) out += ',';
    out += messages[i];
  }
  out += "]}";
  return out;
}

Event decode_event(std::string_view frame) {
  Document object = Document::parse(frame, nullptr, /*allow_exceptions=*/false);
  if (object.is_discarded() || !object.is_object())
    return Error{ErrorCode::bad_json, "frame is not a JSON object", {}};
  try {
    const Document* type = field(object, "type");
    if (type == nullptr || !type->is_string())
      throw Invalid{ErrorCode::bad_request, "field type must be a string"};
    return read_event(type->get_ref<const std::string&>(), object);
  } catch (const Invalid& invalid) {
    return Error{invalid.code, invalid.message, {}};
  }
}

}  // namespace loopchat::protocol
