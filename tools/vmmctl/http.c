/* vmmctl: HTTP over the API socket with libcurl (CURLOPT_UNIX_SOCKET_PATH; the host name in the
 * URL is only what the Host header says). */
#include "tools/vmmctl/http.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int http_probe_socket(const char *sock)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct stat st;
	if (strlen(sock) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	if (stat(sock, &st) < 0)
		return -errno;
	if (!S_ISSOCK(st.st_mode))
		return -ENOTSOCK;
	memcpy(addr.sun_path, sock, strlen(sock) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int ret = connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ? -errno : 0;
	close(fd);
	return ret;
}

struct sink {
	struct http_response *resp;
	int overflow;
};

static size_t on_data(char *data, size_t size, size_t nmemb, void *opaque)
{
	struct sink *s = opaque;
	size_t n = size * nmemb;
	struct http_response *r = s->resp;
	if (n > VMMCTL_RESPONSE_MAX - r->len) {
		s->overflow = 1;
		return 0; /* curl stops with CURLE_WRITE_ERROR */
	}
	char *p = realloc(r->body, r->len + n + 1);
	if (!p)
		return 0;
	memcpy(p + r->len, data, n);
	r->len += n;
	p[r->len] = '\0';
	r->body = p;
	return n;
}

static enum http_result classify(CURLcode rc, const struct sink *s, const char *curl_err,
				 long timeout_s, char *err, size_t errlen)
{
	if (s->overflow) {
		snprintf(err, errlen, "answer larger than %u bytes", VMMCTL_RESPONSE_MAX);
		return HTTP_MALFORMED;
	}
	const char *why = curl_err[0] ? curl_err : curl_easy_strerror(rc);
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
		snprintf(err, errlen, "no answer: %s", why);
		return HTTP_UNREACHABLE;
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(err, errlen, "no answer within %ld s (--timeout)", timeout_s);
		return HTTP_UNREACHABLE;
	default:
		snprintf(err, errlen, "malformed answer: %s", why);
		return HTTP_MALFORMED;
	}
}

enum http_result http_request(const char *sock, const char *method, const char *path,
			      const char *body, long timeout_s, struct http_response *resp,
			      char *err, size_t errlen)
{
	char url[512], curl_err[CURL_ERROR_SIZE] = "";
	struct sink sink = {.resp = resp};
	memset(resp, 0, sizeof(*resp));
	CURL *c = curl_easy_init();
	if (!c) {
		snprintf(err, errlen, "cannot set up libcurl");
		return HTTP_UNREACHABLE;
	}
	struct curl_slist *hdrs = curl_slist_append(NULL, "Accept: application/json");
	if (body)
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
	snprintf(url, sizeof(url), "http://localhost%s", path);
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)VMMCTL_RESPONSE_MAX);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (!body && strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		body = ""; /* Content-Length: 0 rather than no length at all */
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	}
	CURLcode rc = curl_easy_perform(c);
	enum http_result res = HTTP_OK;
	if (rc == CURLE_FILESIZE_EXCEEDED)
		sink.overflow = 1;
	if (rc != CURLE_OK || sink.overflow)
		res = classify(rc, &sink, curl_err, timeout_s, err, errlen);
	else
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	if (res != HTTP_OK)
		http_response_free(resp);
	return res;
}

void http_response_free(struct http_response *resp)
{
	free(resp->body);
	resp->body = NULL;
	resp->len = 0;
}
