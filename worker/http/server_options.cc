#include "worker/http/http_server.h"

namespace asgid::http {

ParserLimits parserLimits(const config::Settings& settings) {
  return ParserLimits{
      .max_target = static_cast<size_t>(settings.limit_request_line),
      .max_fields = static_cast<size_t>(settings.limit_request_fields),
      .max_field_size = static_cast<size_t>(settings.limit_request_field_size),
      .max_headers_size = static_cast<size_t>(settings.limit_request_headers_size),
  };
}

ServerOptions serverOptions(const config::Settings& settings) {
  ServerOptions options;
  options.limits = parserLimits(settings);
  options.timeout_keep_alive = settings.timeout_keep_alive;
  options.timeout_request_header = settings.timeout_request_header;
  options.timeout_request_body = settings.timeout_request_body;
  options.timeout_send = settings.timeout_send;
  options.limit_concurrency = settings.limit_concurrency;
  options.limit_request_body = static_cast<uint64_t>(settings.limit_request_body);
  options.server_header = settings.server_header;
  options.date_header = settings.date_header;
  options.extra_headers = settings.headers;
  options.proxy.proxy_headers = settings.proxy_headers;
  options.proxy.forwarded_header = settings.forwarded_header;
  options.proxy.forwarded_host = settings.forwarded_host;
  options.proxy.trusted = AddressSet::parse(settings.forwarded_allow_ips);  // checked on load
  options.proxy_protocol = settings.proxy_protocol;
  // Checked when the settings were read: compiling it again cannot fail.
  options.access_format = log::AccessLogFormat::compile(settings.access_log_format);
  options.request_id = settings.request_id;
  return options;
}

}  // namespace asgid::http
