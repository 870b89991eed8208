#include "worker/http/request_origin.h"

#include <cctype>
#include <charconv>

namespace asgid::http {
namespace forwarded {
namespace {

std::string_view trim(std::string_view text) {
  size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return {};
  return text.substr(begin, text.find_last_not_of(" \t") - begin + 1);
}

bool equalsLower(std::string_view text, std::string_view lower) {
  if (text.size() != lower.size()) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != lower[i]) return false;
  }
  return true;
}

// 1*5DIGIT, 1..65535; 0 when it is not one.
int parsePort(std::string_view text) {
  int port = 0;
  if (text.empty() || text.size() > 5) return 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (error != std::errc() || end != text.data() + text.size() || port < 1 || port > 65535) {
    return 0;
  }
  return port;
}

// tchar, RFC 9110 section 5.6.2.
bool isTokenChar(char c) {
  static constexpr std::string_view kPunctuation = "!#$%&'*+-.^_`|~";
  return std::isalnum(static_cast<unsigned char>(c)) ||
         kPunctuation.find(c) != std::string_view::npos;
}

// A name a proxy may put where an address goes: visible ASCII that cannot be mistaken for
// anything else in a scope or a log line.
bool isName(std::string_view text) {
  if (text.empty() || text.size() > 255) return false;
  for (char c : text) {
    if (!isTokenChar(c)) return false;
  }
  return true;
}

// RFC 7239 section 6.3: obfnode = "_" 1*( ALPHA / DIGIT / "." / "_" / "-" ), and obfport.
bool isObfuscated(std::string_view text) {
  if (text.size() < 2 || text[0] != '_') return false;
  for (char c : text.substr(1)) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

bool isIpv4(std::string_view text) {
  std::optional<IpAddress> address = IpAddress::parse(text);
  return address && text.find(':') == std::string_view::npos;
}

bool isIpv6(std::string_view text) {
  return text.find(':') != std::string_view::npos && IpAddress::parse(text).has_value();
}

Node invalid() {
  return Node{};
}

// RFC 7239 section 6: node = nodename [ ":" node-port ]; an IPv6 nodename is bracketed.
Node parseForwardedNode(std::string_view text) {
  if (equalsLower(text, "unknown")) return Node{Node::Kind::kUnknown, "", 0};
  std::string_view name = text;
  std::string_view port;
  if (text.starts_with('[')) {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return invalid();
    name = text.substr(1, close - 1);
    if (!isIpv6(name)) return invalid();
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty() && rest[0] != ':') return invalid();
    if (!rest.empty()) port = rest.substr(1);
  } else {
    size_t colon = text.find(':');
    if (colon != std::string_view::npos) {
      name = text.substr(0, colon);
      port = text.substr(colon + 1);
    }
  }
  Node node;
  if (!port.empty() || text.ends_with(':')) {
    node.port = parsePort(port);
    if (node.port == 0 && !isObfuscated(port)) return invalid();
  }
  if (text.starts_with('[') || isIpv4(name)) {
    node.kind = Node::Kind::kAddress;
  } else if (isObfuscated(name)) {
    node.kind = Node::Kind::kName;
  } else {
    return invalid();
  }
  node.host = std::string(name);
  return node;
}

// quoted-string (RFC 9110 section 5.6.4) at value[i] == '"'; appends the unescaped text and
// moves i past the closing quote. False when it does not end or holds a control character.
bool readQuoted(std::string_view value, size_t& i, std::string& out) {
  for (++i; i < value.size(); ++i) {
    auto c = static_cast<unsigned char>(value[i]);
    if (c == '"') {
      ++i;
      return true;
    }
    if (c == '\\') {
      if (++i == value.size()) return false;
      c = static_cast<unsigned char>(value[i]);
    }
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
    out += static_cast<char>(c);
  }
  return false;
}

size_t skipSpace(std::string_view value, size_t i) {
  while (i < value.size() && (value[i] == ' ' || value[i] == '\t')) ++i;
  return i;
}

// One pair's value is stored in the element; false for a repeated or invalid parameter.
bool storePair(std::string_view name, const std::string& text, Element& element, uint8_t& seen) {
  static constexpr std::string_view kNames[] = {"for", "by", "proto", "host"};
  for (size_t k = 0; k < 4; ++k) {
    if (!equalsLower(name, kNames[k])) continue;
    if (seen & (1u << k)) return false;  // section 4: at most once per element
    seen |= static_cast<uint8_t>(1u << k);
    if (k == 0) {
      element.has_for = true;
      element.for_node = parseForwardedNode(text);
      return element.for_node.kind != Node::Kind::kInvalid;
    }
    if (k == 2) {
      for (char c : text)
        element.proto += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (k == 3) element.host = text;
    return true;
  }
  return true;  // an extension parameter: allowed, not ours
}

}  // namespace

Node parseForwardedForEntry(std::string_view text) {
  if (equalsLower(text, "unknown")) return Node{Node::Kind::kUnknown, "", 0};
  Node node;
  std::string_view host = text;
  if (text.starts_with('[')) {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return invalid();
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!isIpv6(host) || (!rest.empty() && rest[0] != ':')) return invalid();
    if (!rest.empty()) node.port = parsePort(rest.substr(1));
    node.kind = Node::Kind::kAddress;
  } else if (size_t colon = text.find(':'); colon != std::string_view::npos &&
                                            text.find(':', colon + 1) == std::string_view::npos) {
    host = text.substr(0, colon);
    node.port = parsePort(text.substr(colon + 1));
    node.kind = isIpv4(host) ? Node::Kind::kAddress : Node::Kind::kName;
  } else if (colon != std::string_view::npos) {
    if (!isIpv6(text)) return invalid();
    node.kind = Node::Kind::kAddress;
  } else {
    node.kind = isIpv4(text) ? Node::Kind::kAddress : Node::Kind::kName;
  }
  if (node.kind == Node::Kind::kName && !isName(host)) return invalid();
  node.host = std::string(host);
  return node;
}

bool parseForwarded(std::string_view value, std::vector<Element>& out) {
  out.clear();
  Element element;
  uint8_t seen = 0;
  bool any = false;
  size_t i = 0;
  while (true) {
    i = skipSpace(value, i);
    if (i == value.size() || value[i] == ',') {
      if (any) out.push_back(std::move(element));  // "#" lists may hold empty elements
      element = Element();
      seen = 0;
      any = false;
      if (i == value.size()) return true;
      ++i;
      continue;
    }
    if (value[i] == ';') {
      ++i;
      continue;
    }
    size_t name_begin = i;
    while (i < value.size() && isTokenChar(value[i])) ++i;
    std::string_view name = value.substr(name_begin, i - name_begin);
    if (name.empty() || i == value.size() || value[i] != '=') return false;
    ++i;
    std::string text;
    if (i < value.size() && value[i] == '"') {
      if (!readQuoted(value, i, text)) return false;
    } else {
      size_t begin = i;
      while (i < value.size() && isTokenChar(value[i])) ++i;
      if (i == begin) return false;
      text = std::string(value.substr(begin, i - begin));
    }
    if (!storePair(name, text, element, seen)) return false;
    any = true;
    i = skipSpace(value, i);
    if (i < value.size() && value[i] != ';' && value[i] != ',') return false;
  }
}

std::string_view schemeOf(std::string_view proto) {
  if (equalsLower(proto, "http") || equalsLower(proto, "ws")) return "http";
  if (equalsLower(proto, "https") || equalsLower(proto, "wss")) return "https";
  return {};
}

}  // namespace forwarded

namespace {

using forwarded::Element;
using forwarded::Node;

// The headers a proxy may have set, each list joined over repeated fields (RFC 9110 5.3).
struct ProxyFields {
  std::string forwarded_for;
  std::string proto;
  std::string host;
  std::string port;
  std::string forwarded;
  bool any = false;
};

void appendListMember(std::string& list, const std::string& value) {
  if (!list.empty()) list += ',';
  list += value;
}

ProxyFields collectFields(const RequestHead& head, const ProxyOptions& options) {
  ProxyFields fields;
  for (const auto& [name, value] : head.headers) {
    std::string* list = nullptr;
    if (options.forwarded_header && name == "forwarded") {
      list = &fields.forwarded;
    } else if (!options.proxy_headers || !name.starts_with("x-forwarded-")) {
      continue;
    } else if (name == "x-forwarded-for") {
      list = &fields.forwarded_for;
    } else if (name == "x-forwarded-proto") {
      list = &fields.proto;
    } else if (name == "x-forwarded-host" && options.forwarded_host) {
      list = &fields.host;
    } else if (name == "x-forwarded-port" && options.forwarded_host) {
      list = &fields.port;
    }
    if (list == nullptr) continue;
    appendListMember(*list, value);
    fields.any = true;
  }
  return fields;
}

// The last non-empty member of a comma-separated list: the nearest proxy's word.
std::string_view lastMember(std::string_view list) {
  while (!list.empty()) {
    size_t comma = list.rfind(',');
    std::string_view member =
        forwarded::trim(comma == std::string_view::npos ? list : list.substr(comma + 1));
    if (!member.empty()) return member;
    if (comma == std::string_view::npos) break;
    list = list.substr(0, comma);
  }
  return {};
}

void setClient(RequestOrigin& origin, const Node& node) {
  if (node.kind == Node::Kind::kUnknown) {
    origin.client = net::Endpoint{"", -1};
    origin.client_known = false;
    return;
  }
  origin.client = net::Endpoint{node.host, node.port};
  origin.client_known = true;
}

// Walks hops from the right, skipping trusted addresses; the index of the client's hop.
template <typename NodeOf>
size_t clientHop(size_t count, const AddressSet& trusted, NodeOf node_of) {
  for (size_t i = count; i-- > 0;) {
    const Node* node = node_of(i);
    if (node == nullptr || node->kind != Node::Kind::kAddress || !trusted.contains(node->host)) {
      return i;
    }
  }
  return 0;  // every hop is trusted: the leftmost is as far as anyone can tell
}

bool isRegNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
         c == '~' || c == '%';
}

// Host header syntax (RFC 9110 7.2): a reg-name, IPv4 or [IPv6], and an optional port.
bool splitHost(std::string_view text, std::string& name, int& port, bool& bracketed) {
  std::string_view rest;
  bracketed = text.starts_with('[');
  if (bracketed) {
    size_t close = text.find(']');
    if (close == std::string_view::npos || !forwarded::isIpv6(text.substr(1, close - 1))) {
      return false;
    }
    name = std::string(text.substr(1, close - 1));
    rest = text.substr(close + 1);
  } else {
    size_t colon = text.find(':');
    std::string_view host = text.substr(0, colon);
    if (host.empty() || host.size() > 255) return false;
    for (char c : host) {
      if (!isRegNameChar(c)) return false;
    }
    name = std::string(host);
    if (colon != std::string_view::npos) rest = text.substr(colon);
  }
  port = 0;
  if (rest.empty()) return true;
  if (rest[0] != ':') return false;
  port = forwarded::parsePort(rest.substr(1));
  return port != 0;
}

// --forwarded-host: scope["server"] and the Host header become what the proxy was asked for.
void applyHost(RequestHead& head, RequestOrigin& origin, std::string_view host_text,
               std::string_view port_text) {
  auto host_field = head.headers.end();
  for (auto it = head.headers.begin(); it != head.headers.end(); ++it) {
    if (it->first == "host") host_field = it;
  }
  if (host_text.empty() && host_field != head.headers.end()) host_text = host_field->second;
  std::string name;
  int port = 0;
  bool bracketed = false;
  if (host_text.empty() || !splitHost(host_text, name, port, bracketed)) return;
  if (!port_text.empty()) {
    int forwarded_port = forwarded::parsePort(port_text);
    if (forwarded_port == 0) return;
    port = forwarded_port;
  }
  const int default_port = origin.scheme == "https" ? 443 : 80;
  std::string value;
  value.reserve(name.size() + 8);
  if (bracketed) value += '[';
  value += name;
  if (bracketed) value += ']';
  if (port != 0 && port != default_port) {
    value += ':';
    value += std::to_string(port);
  }
  origin.server = net::Endpoint{name, port != 0 ? port : default_port};
  if (host_field != head.headers.end()) {
    host_field->second = std::move(value);
  } else {
    head.headers.emplace_back("host", std::move(value));
  }
}

void applyForwarded(RequestHead& head, RequestOrigin& origin, const std::string& value,
                    const ProxyOptions& options) {
  std::vector<Element> elements;
  if (!forwarded::parseForwarded(value, elements) || elements.empty()) return;
  const Element& chosen = elements[clientHop(elements.size(), options.trusted, [&](size_t i) {
    return elements[i].has_for ? &elements[i].for_node : nullptr;
  })];
  // An element without for= does not say who the client is: the connection's view stays.
  if (chosen.has_for) setClient(origin, chosen.for_node);
  std::string_view scheme = forwarded::schemeOf(chosen.proto);
  if (!scheme.empty()) origin.scheme = scheme;
  if (options.forwarded_host && !chosen.host.empty()) applyHost(head, origin, chosen.host, {});
}

void applyXForwarded(RequestHead& head, RequestOrigin& origin, const ProxyFields& fields,
                     const ProxyOptions& options) {
  std::vector<Node> hops;
  bool valid = true;
  std::string_view list = fields.forwarded_for;
  while (!list.empty() && valid) {
    size_t comma = list.find(',');
    std::string_view entry = forwarded::trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (entry.empty()) continue;
    hops.push_back(forwarded::parseForwardedForEntry(entry));
    valid = hops.back().kind != Node::Kind::kInvalid;
  }
  // A list with an entry that is neither an address nor a name is not believed at all.
  if (valid && !hops.empty()) {
    setClient(origin,
              hops[clientHop(hops.size(), options.trusted, [&](size_t i) { return &hops[i]; })]);
  }
  std::string_view scheme = forwarded::schemeOf(lastMember(fields.proto));
  if (!scheme.empty()) origin.scheme = scheme;
  if (options.forwarded_host && (!fields.host.empty() || !fields.port.empty())) {
    applyHost(head, origin, lastMember(fields.host), lastMember(fields.port));
  }
}

}  // namespace

bool peerTrusted(const net::Endpoint& peer, bool unix_peer, const AddressSet& trusted) {
  return unix_peer ? trusted.containsUnix() : trusted.contains(peer.host);
}

RequestOrigin requestOrigin(RequestHead& head, const net::Endpoint& peer, bool unix_peer,
                            const net::Endpoint& local, const ProxyOptions& options) {
  RequestOrigin origin;
  origin.client = peer;
  origin.client_known = !unix_peer;
  origin.server = local;
  if (!options.proxy_headers && !options.forwarded_header) return origin;
  ProxyFields fields = collectFields(head, options);
  if (!fields.any || !peerTrusted(peer, unix_peer, options.trusted)) return origin;
  if (!fields.forwarded.empty()) {
    applyForwarded(head, origin, fields.forwarded, options);
  } else {
    applyXForwarded(head, origin, fields, options);
  }
  return origin;
}

}  // namespace asgid::http
