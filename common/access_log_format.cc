#include "common/access_log_format.h"

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <cctype>
#include <stdexcept>

#include "common/log.h"
#include "common/log_format.h"

namespace asgid::log {
namespace {

using Atom = AccessLogFormat::Atom;

// Apache's and gunicorn's presets. gunicorn's own default is "combined".
constexpr std::string_view kCommon = R"(%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s)";
constexpr std::string_view kCombined =
    R"(%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s")";

Atom letterAtom(char letter) {
  switch (letter) {
    case 'h':
      return Atom::kRemoteAddress;
    case 'l':
      return Atom::kDash;
    case 'u':
      return Atom::kUser;
    case 't':
      return Atom::kTime;
    case 'r':
      return Atom::kRequestLine;
    case 'm':
      return Atom::kMethod;
    case 'U':
      return Atom::kPath;
    case 'q':
      return Atom::kQuery;
    case 'H':
      return Atom::kProtocol;
    case 's':
      return Atom::kStatus;
    case 'b':
      return Atom::kBytesOrDash;
    case 'B':
      return Atom::kBytes;
    case 'f':
      return Atom::kReferer;
    case 'a':
      return Atom::kUserAgent;
    case 'T':
      return Atom::kSeconds;
    case 'M':
      return Atom::kMilliseconds;
    case 'D':
      return Atom::kMicroseconds;
    case 'L':
      return Atom::kDecimalSeconds;
    case 'p':
      return Atom::kPid;
    default:
      return Atom::kLiteral;  // unknown
  }
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

const std::string* findHeader(const std::vector<std::pair<std::string, std::string>>* headers,
                              std::string_view lowercase_name) {
  if (headers == nullptr) return nullptr;
  for (const auto& [name, value] : *headers) {
    if (name.size() != lowercase_name.size()) continue;
    bool same = true;
    for (size_t i = 0; same && i < name.size(); ++i) {
      same = std::tolower(static_cast<unsigned char>(name[i])) == lowercase_name[i];
    }
    if (same) return &value;
  }
  return nullptr;
}

void appendNumber(uint64_t value, std::string& out) {
  char digits[24];
  char* end = digits + sizeof digits;
  char* at = end;
  do {
    *--at = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  out.append(at, end);
}

void appendSigned(int value, std::string& out) {
  if (value < 0) out += '-';
  appendNumber(value < 0 ? -static_cast<uint64_t>(value) : static_cast<uint64_t>(value), out);
}

void appendOrDash(const std::string* value, std::string& out) {
  if (value == nullptr || value->empty()) {
    out += '-';
  } else {
    appendEscaped(*value, out);
  }
}

std::string_view pathOf(std::string_view target) {
  return target.substr(0, target.find('?'));
}

std::string_view queryOf(std::string_view target) {
  size_t question = target.find('?');
  return question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
}

// "[10/Oct/2000:13:55:36 +0000]", local time, formatted once per second per thread.
void appendCommonLogTime(std::string& out) {
  thread_local time_t cached_second = -1;
  thread_local char cached[40];
  time_t now = time(nullptr);
  if (now != cached_second) {
    struct tm local;
    localtime_r(&now, &local);
    strftime(cached, sizeof cached, "[%d/%b/%Y:%H:%M:%S %z]", &local);
    cached_second = now;
  }
  out += cached;
}

// RFC 3339 with milliseconds and the local offset: "2026-01-02T03:04:05.678+00:00".
void appendIsoTime(std::string& out) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  struct tm local;
  localtime_r(&now.tv_sec, &local);
  char text[48];
  size_t length = strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &local);
  long minutes = local.tm_gmtoff / 60;
  char sign = minutes < 0 ? '-' : '+';
  if (minutes < 0) minutes = -minutes;
  snprintf(text + length, sizeof text - length, ".%03ld%c%02ld:%02ld", now.tv_nsec / 1000000, sign,
           minutes / 60 % 100, minutes % 60);
  out += text;
}

void appendDecimal(double value, const char* format, std::string& out) {
  char text[32];
  int length = snprintf(text, sizeof text, format, value);
  if (length > 0) out.append(text, static_cast<size_t>(length));
}

void appendJsonField(std::string_view name, std::string_view value, std::string& out) {
  out += ",\"";
  out += name;
  out += "\":\"";
  appendJsonEscaped(value, out);
  out += '"';
}

void appendJsonHeader(std::string_view name, const std::string* value, std::string& out) {
  if (value == nullptr) {
    out += ",\"";
    out += name;
    out += "\":null";
  } else {
    appendJsonField(name, *value, out);
  }
}

const char* statusColor(int status) {
  if (status >= 500) return "\033[31m";
  if (status >= 400) return "\033[33m";
  if (status >= 300) return "\033[36m";
  return "\033[32m";
}

// log::sanitize(), appended in place (no allocation on the default line's path): at most `max`
// bytes of escaped text, then "...".
void appendSanitized(std::string_view text, size_t max, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  const size_t start = out.size();
  for (unsigned char c : text) {
    if (out.size() - start >= max) {
      out += "...";
      break;
    }
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
}

int base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

AccessLogFormat::AccessLogFormat() : default_(true) {}

AccessLogFormat AccessLogFormat::compile(std::string_view spec) {
  if (spec.empty() || spec == "default") return AccessLogFormat();
  AccessLogFormat format;
  format.default_ = false;
  if (spec == "json") {
    format.pieces_.push_back({Atom::kJson, {}});
    return format;
  }
  if (spec == "common") spec = kCommon;
  if (spec == "combined") spec = kCombined;
  std::string literal;
  const auto flushLiteral = [&] {
    if (!literal.empty()) format.pieces_.push_back({Atom::kLiteral, std::move(literal)});
    literal.clear();
  };
  for (size_t i = 0; i < spec.size();) {
    if (spec[i] != '%') {
      literal += spec[i++];
      continue;
    }
    if (spec.substr(i, 2) == "%%") {
      literal += '%';
      i += 2;
      continue;
    }
    if (spec.substr(i, 2) != "%(") {
      throw std::invalid_argument("a lone '%' at offset " + std::to_string(i) +
                                  " (write %% for a percent sign)");
    }
    size_t close = spec.find(")s", i + 2);
    if (close == std::string_view::npos) {
      throw std::invalid_argument("'" + std::string(spec.substr(i, 12)) + "' has no closing ')s'");
    }
    std::string_view name = spec.substr(i + 2, close - i - 2);
    std::string atom_text(spec.substr(i, close + 2 - i));
    i = close + 2;
    if (name.size() >= 3 && name.front() == '{' && name[name.size() - 2] == '}') {
      std::string_view key = name.substr(1, name.size() - 3);
      char kind = name.back();
      if (key.empty()) throw std::invalid_argument(atom_text + " names no header or variable");
      if (kind == 'e') {  // the environment, read once: it does not change while serving
        const char* value = getenv(std::string(key).c_str());
        literal += value != nullptr && *value != '\0' ? value : "-";
        continue;
      }
      if (kind != 'i' && kind != 'o') {
        throw std::invalid_argument(atom_text + ": expected {name}i, {name}o or {name}e");
      }
      flushLiteral();
      format.pieces_.push_back(
          {kind == 'i' ? Atom::kRequestHeader : Atom::kResponseHeader, lowercase(key)});
      continue;
    }
    Atom atom = name.size() == 1 ? letterAtom(name[0]) : Atom::kLiteral;
    if (atom == Atom::kLiteral) throw std::invalid_argument("unknown atom " + atom_text);
    flushLiteral();
    format.pieces_.push_back({atom, {}});
  }
  flushLiteral();
  return format;
}

void AccessLogFormat::render(const AccessRecord& record, std::string& out, bool color) const {
  if (default_) {
    renderDefault(record, out, color);
    return;
  }
  const double seconds = static_cast<double>(record.duration_ns) / 1e9;
  for (const Piece& piece : pieces_) {
    switch (piece.atom) {
      case Atom::kLiteral:
        out += piece.text;
        break;
      case Atom::kRemoteAddress:
        appendEscaped(record.peer_host, out);
        break;
      case Atom::kDash:
        out += '-';
        break;
      case Atom::kUser: {
        const std::string* authorization = findHeader(record.request_headers, "authorization");
        std::string user = authorization ? basicAuthUser(*authorization) : std::string();
        appendOrDash(&user, out);
        break;
      }
      case Atom::kTime:
        appendCommonLogTime(out);
        break;
      case Atom::kRequestLine:
        appendEscaped(record.method, out);
        out += ' ';
        appendEscaped(record.target, out);
        out += " HTTP/";
        appendNumber(static_cast<uint64_t>(record.http_major), out);
        out += '.';
        appendNumber(static_cast<uint64_t>(record.http_minor), out);
        break;
      case Atom::kMethod:
        appendEscaped(record.method, out);
        break;
      case Atom::kPath:
        appendEscaped(pathOf(record.target), out);
        break;
      case Atom::kQuery:
        appendEscaped(queryOf(record.target), out);
        break;
      case Atom::kProtocol:
        out += "HTTP/";
        appendNumber(static_cast<uint64_t>(record.http_major), out);
        out += '.';
        appendNumber(static_cast<uint64_t>(record.http_minor), out);
        break;
      case Atom::kStatus:
        appendNumber(static_cast<uint64_t>(record.status), out);
        break;
      case Atom::kBytesOrDash:
        if (record.body_bytes == 0) {
          out += '-';
        } else {
          appendNumber(record.body_bytes, out);
        }
        break;
      case Atom::kBytes:
        appendNumber(record.body_bytes, out);
        break;
      case Atom::kReferer:
        appendOrDash(findHeader(record.request_headers, "referer"), out);
        break;
      case Atom::kUserAgent:
        appendOrDash(findHeader(record.request_headers, "user-agent"), out);
        break;
      case Atom::kSeconds:
        appendNumber(record.duration_ns / 1000000000u, out);
        break;
      case Atom::kMilliseconds:
        appendNumber(record.duration_ns / 1000000u, out);
        break;
      case Atom::kMicroseconds:
        appendNumber(record.duration_ns / 1000u, out);
        break;
      case Atom::kDecimalSeconds:
        appendDecimal(seconds, "%.6f", out);
        break;
      case Atom::kPid:
        out += '<';
        appendNumber(static_cast<uint64_t>(linePid()), out);
        out += '>';
        break;
      case Atom::kRequestHeader:
        appendOrDash(findHeader(record.request_headers, piece.text), out);
        break;
      case Atom::kResponseHeader: {
        const std::string* value = findHeader(record.response_headers, piece.text);
        if (value == nullptr) value = findHeader(record.extra_response_headers, piece.text);
        appendOrDash(value, out);
        break;
      }
      case Atom::kJson:
        renderJson(record, out);
        break;
    }
  }
}

// The line asgid has always written, byte for byte: what log analysers of ours already parse.
void AccessLogFormat::renderDefault(const AccessRecord& record, std::string& out,
                                    bool color) const {
  out += record.peer_host;
  out += ':';
  appendSigned(record.peer_port, out);
  out += " - \"";
  appendSanitized(record.method, 32, out);
  out += ' ';
  appendSanitized(record.target, 200, out);
  out += " HTTP/";
  appendNumber(static_cast<uint64_t>(record.http_major), out);
  out += '.';
  appendNumber(static_cast<uint64_t>(record.http_minor), out);
  out += "\" ";
  if (color) out += statusColor(record.status);
  appendNumber(static_cast<uint64_t>(record.status), out);
  if (color) out += "\033[0m";
  out += ' ';
  appendNumber(record.body_bytes, out);
  out += ' ';
  appendDecimal(static_cast<double>(record.duration_ns) / 1e6, "%.3f", out);
  out += "ms";
}

void AccessLogFormat::renderJson(const AccessRecord& record, std::string& out) const {
  out += "{\"ts\":\"";
  appendIsoTime(out);
  out += "\",\"pid\":";
  appendNumber(static_cast<uint64_t>(linePid()), out);
  appendJsonField("client", record.peer_host, out);
  out += ",\"client_port\":";
  if (record.peer_port < 0) {
    out += "null";
  } else {
    appendNumber(static_cast<uint64_t>(record.peer_port), out);
  }
  appendJsonField("method", record.method, out);
  appendJsonField("path", pathOf(record.target), out);
  appendJsonField("query", queryOf(record.target), out);
  out += ",\"protocol\":\"HTTP/";
  appendNumber(static_cast<uint64_t>(record.http_major), out);
  out += '.';
  appendNumber(static_cast<uint64_t>(record.http_minor), out);
  out += "\",\"status\":";
  appendNumber(static_cast<uint64_t>(record.status), out);
  out += ",\"bytes\":";
  appendNumber(record.body_bytes, out);
  out += ",\"duration_ms\":";
  appendDecimal(static_cast<double>(record.duration_ns) / 1e6, "%.3f", out);
  appendJsonHeader("referer", findHeader(record.request_headers, "referer"), out);
  appendJsonHeader("user_agent", findHeader(record.request_headers, "user-agent"), out);
  appendJsonHeader("request_id", findHeader(record.request_headers, "x-request-id"), out);
  out += '}';
}

void appendEscaped(std::string_view text, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char c : text) {
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
}

std::string basicAuthUser(std::string_view authorization) {
  if (authorization.size() < 6) return {};
  std::string scheme = lowercase(authorization.substr(0, 6));
  if (scheme != "basic ") return {};
  std::string_view encoded = authorization.substr(6);
  while (!encoded.empty() && encoded.front() == ' ') encoded.remove_prefix(1);
  std::string decoded;
  uint32_t bits = 0;
  int count = 0;
  for (char c : encoded) {
    if (c == '=') break;
    int value = base64Value(c);
    if (value < 0) return {};
    bits = (bits << 6) | static_cast<uint32_t>(value);
    count += 6;
    if (count >= 8) {
      count -= 8;
      decoded += static_cast<char>((bits >> count) & 0xff);
    }
  }
  return decoded.substr(0, decoded.find(':'));
}

}  // namespace asgid::log
