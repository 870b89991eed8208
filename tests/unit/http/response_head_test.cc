#include "worker/http/response_head.h"

#include <gtest/gtest.h>

namespace asgid::http {
namespace {

struct Written {
  std::string text;
  ResponsePlan plan;
};

Written write(int status, std::vector<Header> headers, ResponseHeadInput input = {}) {
  input.status = status;
  input.app_headers = &headers;
  Written written;
  written.plan = writeResponseHead(input, written.text);
  return written;
}

TEST(ResponseHead, WholeBodyGetsContentLength) {
  ResponseHeadInput input;
  input.whole_body_length = 13;
  auto out = write(200, {{"content-type", "text/plain"}}, input);
  EXPECT_EQ(out.text, "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 13\r\n\r\n");
  EXPECT_EQ(out.plan.framing, Framing::kContentLength);
  EXPECT_EQ(out.plan.content_length, 13u);
  EXPECT_TRUE(out.plan.keep_alive);
}

TEST(ResponseHead, StreamIsChunkedOnHttp11AndCloseDelimitedOnHttp10) {
  auto chunked = write(200, {});
  EXPECT_NE(chunked.text.find("transfer-encoding: chunked\r\n"), std::string::npos);
  EXPECT_EQ(chunked.plan.framing, Framing::kChunked);

  ResponseHeadInput http10;
  http10.http10 = true;
  auto closing = write(200, {}, http10);
  EXPECT_EQ(closing.plan.framing, Framing::kUntilClose);
  EXPECT_FALSE(closing.plan.keep_alive);
  EXPECT_NE(closing.text.find("connection: close\r\n"), std::string::npos);
}

TEST(ResponseHead, AppContentLengthWins) {
  ResponseHeadInput input;
  input.whole_body_length = 99;
  auto out = write(200, {{"Content-Length", "5"}}, input);
  EXPECT_EQ(out.plan.framing, Framing::kContentLength);
  EXPECT_EQ(out.plan.content_length, 5u);
  EXPECT_EQ(out.text.find("content-length: 99"), std::string::npos);
}

TEST(ResponseHead, BodilessStatusesAndHead) {
  for (int status : {101, 204, 304}) {
    ResponseHeadInput input;
    input.whole_body_length = 4;
    auto out = write(status, {}, input);
    EXPECT_EQ(out.plan.framing, Framing::kNone) << status;
    EXPECT_EQ(out.text.find("content-length"), std::string::npos) << status;
    EXPECT_EQ(out.text.find("transfer-encoding"), std::string::npos) << status;
  }
  ResponseHeadInput head;
  head.request_is_head = true;
  head.whole_body_length = 4;
  auto out = write(200, {}, head);
  EXPECT_EQ(out.plan.framing, Framing::kNone);
  EXPECT_NE(out.text.find("content-length: 4\r\n"), std::string::npos);
}

TEST(ResponseHead, ServerDateExtraHeadersAndClose) {
  std::vector<Header> extra = {{"x-extra", "1"}};
  ResponseHeadInput input;
  input.server = "asgid";
  input.date = "Sun, 06 Nov 1994 08:49:37 GMT";
  input.extra_headers = &extra;
  input.force_close = true;
  input.whole_body_length = 0;
  auto out = write(404, {}, input);
  EXPECT_EQ(out.text.rfind("HTTP/1.1 404 Not Found\r\nserver: asgid\r\ndate: Sun, 06 Nov 1994 "
                           "08:49:37 GMT\r\nx-extra: 1\r\n",
                           0),
            0u);
  EXPECT_FALSE(out.plan.keep_alive);
  EXPECT_NE(out.text.find("connection: close\r\n"), std::string::npos);
}

TEST(ResponseHead, AppConnectionCloseEndsKeepAlive) {
  auto out = write(200, {{"connection", "close"}});
  EXPECT_FALSE(out.plan.keep_alive);
  // Not written twice.
  EXPECT_EQ(out.text.find("connection: close"), out.text.rfind("connection: close"));
}

TEST(ResponseHead, Http10KeepAliveIsAnnounced) {
  ResponseHeadInput input;
  input.http10 = true;
  input.whole_body_length = 2;
  auto out = write(200, {}, input);
  EXPECT_TRUE(out.plan.keep_alive);
  EXPECT_NE(out.text.find("connection: keep-alive\r\n"), std::string::npos);
}

TEST(ResponseHead, FieldValidationRejectsInjection) {
  EXPECT_TRUE(isValidFieldName("x-custom_header"));
  EXPECT_FALSE(isValidFieldName(""));
  EXPECT_FALSE(isValidFieldName("bad name"));
  EXPECT_FALSE(isValidFieldName("x\r\ninjected"));
  EXPECT_FALSE(isValidFieldName("x:y"));
  EXPECT_TRUE(isValidFieldValue("text/html; charset=utf-8"));
  EXPECT_FALSE(isValidFieldValue("a\r\nset-cookie: x"));
  EXPECT_FALSE(isValidFieldValue(std::string("a\0b", 3)));
  EXPECT_FALSE(isValidFieldValue("a\nb"));
}

TEST(ResponseHead, SimpleResponseCloses) {
  std::string out;
  writeSimpleResponse(431, "", "", false, out);
  EXPECT_EQ(out.rfind("HTTP/1.1 431 Request Header Fields Too Large\r\n", 0), 0u);
  EXPECT_NE(out.find("connection: close\r\n"), std::string::npos);
  EXPECT_NE(out.find("content-length: 32\r\n"), std::string::npos);
}

TEST(ResponseHead, HttpDateIsImfFixdate) {
  EXPECT_EQ(httpDate(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(httpDate(0), "Thu, 01 Jan 1970 00:00:00 GMT");
}

}  // namespace
}  // namespace asgid::http

namespace asgid::http {
namespace {

TEST(ResponseHead, AppServerAndDateReplaceOurs) {
  std::vector<Header> headers = {{"Server", "myapp"}, {"date", "Thu, 01 Jan 2015 00:00:00 GMT"}};
  ResponseHeadInput input;
  input.app_headers = &headers;
  input.server = "asgid";
  input.date = "Sun, 06 Nov 1994 08:49:37 GMT";
  input.whole_body_length = 0;
  std::string out;
  writeResponseHead(input, out);
  EXPECT_EQ(out.find("asgid"), std::string::npos) << out;
  EXPECT_EQ(out.find("1994"), std::string::npos) << out;
  EXPECT_NE(out.find("Server: myapp\r\n"), std::string::npos);
}

TEST(ResponseHead, AppTransferEncodingNeverReachesHttp10) {
  ResponseHeadInput http10;
  http10.http10 = true;
  auto streamed = write(200, {{"Transfer-Encoding", "chunked"}}, http10);
  EXPECT_EQ(streamed.plan.framing, Framing::kUntilClose);
  EXPECT_EQ(streamed.text.find("ransfer-"), std::string::npos) << streamed.text;

  http10.whole_body_length = 3;
  auto whole = write(200, {{"transfer-encoding", "chunked"}}, http10);
  EXPECT_EQ(whole.plan.framing, Framing::kContentLength);
  EXPECT_EQ(whole.text.find("transfer-encoding"), std::string::npos) << whole.text;
  EXPECT_NE(whole.text.find("content-length: 3\r\n"), std::string::npos) << whole.text;
}

TEST(ResponseHead, AppChunkedIsKeptOnHttp11WithoutASecondOne) {
  auto out = write(200, {{"transfer-encoding", "chunked"}});
  EXPECT_EQ(out.plan.framing, Framing::kChunked);
  size_t first = out.text.find("transfer-encoding");
  ASSERT_NE(first, std::string::npos);
  EXPECT_EQ(out.text.find("transfer-encoding", first + 1), std::string::npos) << out.text;
}

TEST(ResponseHead, ContentLengthAndTransferEncodingNeverTogether) {
  // RFC 9112 6.2: the app's Content-Length frames the body; its Transfer-Encoding is dropped.
  auto out = write(200, {{"content-length", "5"}, {"transfer-encoding", "chunked"}});
  EXPECT_EQ(out.plan.framing, Framing::kContentLength);
  EXPECT_EQ(out.text.find("transfer-encoding"), std::string::npos) << out.text;
}

TEST(ResponseHead, NoFramingFieldsOn204) {
  auto out = write(204, {{"content-length", "0"}, {"transfer-encoding", "chunked"}});
  EXPECT_EQ(out.plan.framing, Framing::kNone);
  EXPECT_EQ(out.text.find("content-length"), std::string::npos) << out.text;
  EXPECT_EQ(out.text.find("transfer-encoding"), std::string::npos) << out.text;
}

TEST(ResponseHead, SimpleResponseToHeadHasNoBody) {
  std::string get;
  writeSimpleResponse(500, "", "", false, get);
  std::string head;
  writeSimpleResponse(500, "", "", true, head);
  EXPECT_TRUE(get.ends_with("\r\n\r\nInternal Server Error\n")) << get;
  EXPECT_TRUE(head.ends_with("content-length: 22\r\n\r\n")) << head;
  EXPECT_EQ(get.substr(0, head.size()), head);
}

}  // namespace
}  // namespace asgid::http
