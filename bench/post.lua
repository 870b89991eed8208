-- wrk script for the post-echo scenario: every request POSTs a 10 KiB body to /.
wrk.method = "POST"
wrk.body = string.rep("a", 10240)
wrk.headers["Content-Type"] = "application/octet-stream"
