/* AWS Signature Version 4, header form. The algorithm and the choices made where AWS is vague are in
 * docs/internals/sigv4.md; the wire facts are in PROTOCOLS.md §5. */
#include "compat/sigv4.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "util/err.h"
#include "util/hex.h"

#define ALGORITHM "AWS4-HMAC-SHA256"
#define TERMINATOR "aws4_request"
#define HASH_LEN 32
#define HEX_LEN 64
/* Caps on attacker-controlled input. The HTTP layer's own limits are far lower; these only make sure a
 * hostile request cannot make us allocate without bound. */
#define MAX_CANONICAL (1u << 20)
#define MAX_QUERY_PARAMS 1024
#define MAX_SIGNED_HEADERS 64
#define MAX_SECRET 256

#define E_MISSING "MissingAuthenticationTokenException"
#define E_INCOMPLETE "IncompleteSignatureException"
#define E_INVALID "InvalidSignatureException"
#define MISMATCH_MSG                                                                                         \
	"The request signature we calculated does not match the signature you provided. Check your AWS "     \
	"Secret Access Key and signing method. Consult the service documentation for details."

/* Headers botocore never signs (botocore.auth.SIGNED_HEADERS_BLACKLIST), plus the two aws-cli v1 adds after
 * signing and Authorization itself. Used by sigv4_sign() only: the verifier signs what the client says. */
/* clang-format off */
static const char *const unsigned_headers[] = {
	"authorization", "connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization",
	"te", "trailer", "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id",
	"amz-sdk-invocation-id", "amz-sdk-request"
};
/* clang-format on */

/* ---- small helpers ------------------------------------------------------------------------------------ */

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char to_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '_' || c == '.' || c == '~';
}

/* RFC 7230 tchar: what a header name may contain. */
static bool is_tchar(char c)
{
	return is_unreserved((unsigned char)c) || (c && strchr("!#$%&'*+^`|", c));
}

/* Printable ASCII other than space, '/' and ','. Credential parts go into the string to sign and into
 * error messages, so nothing that could confuse either is let through. */
static bool is_scope_char(char c)
{
	return c > ' ' && c < 0x7f && c != '/' && c != ',';
}

static void trim(const char **s, size_t *n)
{
	while (*n && is_space(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && is_space((*s)[*n - 1]))
		(*n)--;
}

static void hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static bool name_eq(const char *a, const char *b, size_t blen)
{
	return a && strncasecmp(a, b, blen) == 0 && a[blen] == '\0';
}

/* First value of header name (any case) and how many times it occurs. */
static const char *find_header(const struct sigv4_request *req, const char *name, size_t nlen, size_t *count)
{
	const char *first = NULL;
	size_t n = 0;

	for (size_t i = 0; i < req->nheaders; i++) {
		if (!name_eq(req->headers[i].name, name, nlen))
			continue;
		if (!first)
			first = req->headers[i].value ? req->headers[i].value : "";
		n++;
	}
	if (count)
		*count = n;
	return first;
}

/* ---- crypto (libcrypto only) -------------------------------------------------------------------------- */

static int sha256_hex(const void *data, size_t len, char out[HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!data)
		len = 0;
	if (!EVP_Digest(data ? data : "", len, md, &mdlen, EVP_sha256(), NULL) || mdlen != HASH_LEN)
		return FW_EIO;
	hex_encode(md, HASH_LEN, out);
	return 0;
}

static int hmac(const void *key, size_t klen, const void *msg, size_t mlen, unsigned char out[HASH_LEN])
{
	unsigned int len = 0;

	if (klen > INT_MAX)
		return FW_EINVAL;
	if (!HMAC(EVP_sha256(), key, (int)klen, msg, mlen, out, &len) || len != HASH_LEN)
		return FW_EIO;
	return 0;
}

int sigv4_signing_key(const char *secret, const char *date, const char *region, const char *service,
		      unsigned char out[SIGV4_KEY_LEN])
{
	unsigned char kdate[HASH_LEN], kregion[HASH_LEN], kservice[HASH_LEN], kinit[4 + MAX_SECRET];
	size_t slen = secret ? strlen(secret) : 0;
	int rc;

	if (!secret || slen > MAX_SECRET || !date || !region || !service)
		return FW_EINVAL;
	memcpy(kinit, "AWS4", 4);
	memcpy(kinit + 4, secret, slen);
	if ((rc = hmac(kinit, 4 + slen, date, strlen(date), kdate)) < 0 ||
	    (rc = hmac(kdate, HASH_LEN, region, strlen(region), kregion)) < 0 ||
	    (rc = hmac(kregion, HASH_LEN, service, strlen(service), kservice)) < 0 ||
	    (rc = hmac(kservice, HASH_LEN, TERMINATOR, strlen(TERMINATOR), out)) < 0)
		OPENSSL_cleanse(out, SIGV4_KEY_LEN);
	OPENSSL_cleanse(kinit, sizeof(kinit));
	OPENSSL_cleanse(kdate, sizeof(kdate));
	OPENSSL_cleanse(kregion, sizeof(kregion));
	OPENSSL_cleanse(kservice, sizeof(kservice));
	return rc;
}

/* signature = hex(HMAC(kSigning, string_to_sign)) for the scope kSigning was derived for. */
static int compute_signature(const char *creq, size_t creq_len, const char *amz_date, const char *date,
			     const char *region, const char *service, const unsigned char ksigning[HASH_LEN],
			     char out[HEX_LEN + 1])
{
	char creq_hash[HEX_LEN + 1], sts[512];
	unsigned char sig[HASH_LEN];
	int n, rc;

	if ((rc = sha256_hex(creq, creq_len, creq_hash)) < 0)
		return rc;
	n = snprintf(sts, sizeof(sts), "%s\n%s\n%s/%s/%s/%s\n%s", ALGORITHM, amz_date, date, region, service,
		     TERMINATOR, creq_hash);
	if (n < 0 || (size_t)n >= sizeof(sts))
		return FW_EINVAL;
	if ((rc = hmac(ksigning, HASH_LEN, sts, (size_t)n, sig)) == 0)
		hex_encode(sig, HASH_LEN, out);
	OPENSSL_cleanse(sig, sizeof(sig));
	return rc;
}

/* ---- a growable string with a hard cap ---------------------------------------------------------------- */

struct cbuf {
	char *p;
	size_t len, cap;
};

static int cb_add(struct cbuf *b, const char *s, size_t n)
{
	if (n > MAX_CANONICAL || b->len > MAX_CANONICAL - n)
		return FW_ETOOBIG;
	if (!b->p || b->len + n + 1 > b->cap) {
		size_t ncap = b->cap ? b->cap : 256;
		char *np;
		while (ncap < b->len + n + 1)
			ncap *= 2;
		if (!(np = realloc(b->p, ncap)))
			return FW_ENOMEM;
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static int cb_puts(struct cbuf *b, const char *s)
{
	return cb_add(b, s, strlen(s));
}

static int cb_putc(struct cbuf *b, char c)
{
	return cb_add(b, &c, 1);
}

/* Appends s percent-encoded with only A-Za-z0-9-_.~ left as is, upper-case hex (AWS's UriEncode). */
static int cb_encode(struct cbuf *b, const char *s, size_t n)
{
	static const char digits[] = "0123456789ABCDEF";
	int rc = 0;

	for (size_t i = 0; i < n && !rc; i++) {
		unsigned char c = (unsigned char)s[i];
		if (is_unreserved(c)) {
			rc = cb_putc(b, (char)c);
		} else {
			char e[3] = { '%', digits[c >> 4], digits[c & 15] };
			rc = cb_add(b, e, 3);
		}
	}
	return rc;
}

/* Like cb_encode() but decodes valid %XX escapes first, so that "%e1%88%b4", "%E1%88%B4" and the raw
 * bytes all come out the same. '+' stays a literal plus: SigV4 clients send spaces as %20. */
static int cb_reencode(struct cbuf *b, const char *s, size_t n)
{
	int rc = 0;

	for (size_t i = 0; i < n && !rc; i++) {
		char c = s[i];
		int hi, lo;
		if (c == '%' && i + 2 < n && (hi = hex_digit((unsigned char)s[i + 1])) >= 0 &&
		    (lo = hex_digit((unsigned char)s[i + 2])) >= 0) {
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		rc = cb_encode(b, &c, 1);
	}
	return rc;
}

/* ---- canonical request -------------------------------------------------------------------------------- */

/* The path as botocore canonicalises it for every service but S3: empty and "." segments dropped, ".."
 * pops, a trailing slash kept, then each segment URI-encoded. The path arrives percent-encoded, so an
 * escape is encoded again ("%20" -> "%2520"), which is what botocore signs. */
static int canonical_uri(struct cbuf *b, const char *path)
{
	size_t base = b->len, n = path ? strlen(path) : 0;
	const char *p = path;
	int rc = 0;

	if (n == 0)
		return cb_putc(b, '/');
	while (p < path + n && !rc) {
		const char *slash = memchr(p, '/', (size_t)(path + n - p));
		size_t seg = slash ? (size_t)(slash - p) : (size_t)(path + n - p);

		if (seg == 0 || (seg == 1 && p[0] == '.')) {
			/* dropped */
		} else if (seg == 2 && p[0] == '.' && p[1] == '.') {
			while (b->len > base && b->p[b->len - 1] != '/')
				b->len--;
			if (b->len > base)
				b->len--;
			if (b->p)
				b->p[b->len] = '\0';
		} else if (!(rc = cb_putc(b, '/'))) {
			rc = cb_encode(b, p, seg);
		}
		p += seg + 1;
	}
	if (rc)
		return rc;
	if (b->len == base)
		return cb_putc(b, '/');
	if (path[n - 1] == '/')
		rc = cb_putc(b, '/');
	if (!rc && path[0] != '/') {
		memmove(b->p + base, b->p + base + 1, b->len - base);
		b->len--;
	}
	return rc;
}

struct qparam {
	char *key, *val; /* encoded, owned */
};

static int qparam_cmp(const void *a, const void *b)
{
	const struct qparam *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c ? c : strcmp(x->val, y->val);
}

static int encoded_copy(const char *s, size_t n, char **out)
{
	struct cbuf b = { 0 };
	int rc = cb_reencode(&b, s, n);

	if (!rc && !b.p)
		rc = cb_add(&b, "", 0);
	if (rc) {
		free(b.p);
		return rc;
	}
	*out = b.p;
	return 0;
}

/* Each key=value pair re-encoded, sorted by encoded key then encoded value, joined with '&'. Empty pairs
 * ("a=1&&b=2", a trailing '&') are skipped; a key without '=' gets an empty value. */
static int canonical_query(struct cbuf *b, const char *q)
{
	struct qparam *params = NULL;
	size_t nmax = 1, n = 0;
	int rc = 0;

	if (!q || !*q)
		return 0;
	for (const char *p = q; *p; p++)
		nmax += *p == '&';
	if (nmax > MAX_QUERY_PARAMS)
		return FW_ETOOBIG;
	if (!(params = calloc(nmax, sizeof(*params))))
		return FW_ENOMEM;
	for (const char *p = q; *p && !rc;) {
		size_t len = strcspn(p, "&");
		const char *eq = memchr(p, '=', len);
		if (len) {
			size_t klen = eq ? (size_t)(eq - p) : len;
			rc = encoded_copy(p, klen, &params[n].key);
			if (!rc)
				rc = eq ? encoded_copy(eq + 1, len - klen - 1, &params[n].val)
					: encoded_copy("", 0, &params[n].val);
			n++;
		}
		p += len + (p[len] == '&');
	}
	if (rc)
		goto out;
	qsort(params, n, sizeof(*params), qparam_cmp);
	for (size_t i = 0; i < n && !rc; i++) {
		if (i)
			rc = cb_putc(b, '&');
		if (!rc)
			rc = cb_puts(b, params[i].key);
		if (!rc)
			rc = cb_putc(b, '=');
		if (!rc)
			rc = cb_puts(b, params[i].val);
	}
out:
	for (size_t i = 0; i < n; i++) {
		free(params[i].key);
		free(params[i].val);
	}
	free(params);
	return rc;
}

/* All values of header name, each trimmed with inner whitespace runs collapsed to one space, joined with
 * ',' in received order. *found tells whether the header occurs at all. */
static int canonical_header_value(struct cbuf *b, const struct sigv4_request *req, const char *name,
				  size_t nlen, bool *found)
{
	int rc = 0;

	*found = false;
	for (size_t i = 0; i < req->nheaders && !rc; i++) {
		const char *v = req->headers[i].value ? req->headers[i].value : "";
		bool wrote = false, gap = false;

		if (!name_eq(req->headers[i].name, name, nlen))
			continue;
		if (*found)
			rc = cb_putc(b, ',');
		*found = true;
		for (; *v && !rc; v++) {
			if (is_space(*v)) {
				gap = true;
				continue;
			}
			if (gap && wrote)
				rc = cb_putc(b, ' ');
			if (!rc)
				rc = cb_putc(b, *v);
			gap = false;
			wrote = true;
		}
	}
	return rc;
}

/* The payload line: x-amz-content-sha256 as sent when present, else the hex SHA-256 of the body. */
static int payload_hash(const struct sigv4_request *req, char out[HEX_LEN + 1])
{
	const char *claimed = find_header(req, "x-amz-content-sha256", 20, NULL);

	if (claimed) {
		size_t n = strlen(claimed);
		trim(&claimed, &n);
		if (n > HEX_LEN)
			return FW_EINVAL;
		memcpy(out, claimed, n);
		out[n] = '\0';
		return 0;
	}
	return sha256_hex(req->body, req->body_len, out);
}

/* Fills err and returns FW_EAUTH: every authentication failure goes through here. */
static int deny(struct fw_error *err, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int deny(struct fw_error *err, int status, const char *code, const char *fmt, ...)
{
	va_list ap;

	fw_fail(err, status, code, "%s", "");
	if (err) {
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof(err->message), fmt, ap);
		va_end(ap);
	}
	return FW_EAUTH;
}

/* Translates an internal failure into err. Authentication failures are filled where they happen. */
static int internal(struct fw_error *err, int rc)
{
	switch (rc) {
	case FW_ETOOBIG:
		fw_fail(err, 400, E_INCOMPLETE,
			"the request is too large to verify its signature (over %u bytes)", MAX_CANONICAL);
		break;
	case FW_ENOMEM:
		fw_fail(err, 500, "InternalFailure", "out of memory while verifying the request signature");
		break;
	default:
		fw_fail(err, 500, "InternalFailure",
			"could not compute the request signature (libcrypto failed)");
		break;
	}
	return rc;
}

static int build_canonical(const struct sigv4_request *req, const char *signed_headers, struct cbuf *b,
			   struct fw_error *err)
{
	char hash[HEX_LEN + 1];
	const char *p;
	int rc = 0;

	if (!req->method || !*req->method || !signed_headers || !*signed_headers)
		return deny(err, 400, E_INCOMPLETE, "the request has no method or no SignedHeaders");
	for (p = req->method; *p && !rc; p++)
		rc = cb_putc(b, *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p);
	if (!rc)
		rc = cb_putc(b, '\n');
	if (!rc)
		rc = canonical_uri(b, req->path);
	if (!rc)
		rc = cb_putc(b, '\n');
	if (!rc)
		rc = canonical_query(b, req->query);
	if (!rc)
		rc = cb_putc(b, '\n');
	for (p = signed_headers; *p && !rc;) {
		size_t len = strcspn(p, ";");
		bool found;

		if (len == 0)
			return deny(err, 400, E_INCOMPLETE, "SignedHeaders '%.200s' contains an empty name",
				    signed_headers);
		for (size_t i = 0; i < len && !rc; i++)
			rc = cb_putc(b, to_lower(p[i]));
		if (!rc)
			rc = cb_putc(b, ':');
		if (!rc)
			rc = canonical_header_value(b, req, p, len, &found);
		if (!rc && !found)
			return deny(err, 400, E_INVALID,
				    "header '%.*s' is listed in SignedHeaders but is not in the request; "
				    "send every header you sign",
				    (int)(len > 100 ? 100 : len), p);
		if (!rc)
			rc = cb_putc(b, '\n');
		p += len + (p[len] == ';');
	}
	if (!rc)
		rc = cb_putc(b, '\n');
	if (!rc)
		rc = cb_puts(b, signed_headers);
	if (!rc)
		rc = cb_putc(b, '\n');
	if (!rc && (rc = payload_hash(req, hash)) == FW_EINVAL)
		return deny(err, 400, E_INVALID, "x-amz-content-sha256 is not a SHA-256 hex digest");
	if (!rc)
		rc = cb_puts(b, hash);
	return rc ? internal(err, rc) : 0;
}

int sigv4_canonical_request(const struct sigv4_request *req, const char *signed_headers, char **out,
			    struct fw_error *err)
{
	struct cbuf b = { 0 };
	int rc;

	*out = NULL;
	if ((rc = build_canonical(req, signed_headers, &b, err)) < 0) {
		free(b.p);
		return rc;
	}
	*out = b.p;
	return 0;
}

/* ---- dates -------------------------------------------------------------------------------------------- */

static int num(const char *s, size_t n)
{
	int v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_digit(s[i]))
			return false;
	return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int to_time(int y, int mo, int d, int h, int mi, int s, time_t *t)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap) || h > 23 ||
	    mi > 59 || s > 60)
		return FW_EINVAL;
	*t = (time_t)(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s);
	return 0;
}

/* YYYYMMDD'T'HHMMSS'Z', exactly. */
static int parse_iso_basic(const char *s, size_t n, time_t *t)
{
	if (n != 16 || !all_digits(s, 8) || s[8] != 'T' || !all_digits(s + 9, 6) || s[15] != 'Z')
		return FW_EINVAL;
	return to_time(num(s, 4), num(s + 4, 2), num(s + 6, 2), num(s + 9, 2), num(s + 11, 2), num(s + 13, 2),
		       t);
}

/* RFC 7231 IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT"; the weekday is optional and not checked. */
static int parse_http_date(const char *s, size_t n, time_t *t)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	const char *e = s + n;
	int d, mo = 0;

	if (n > 4 && s[3] == ',') {
		s += 4;
		while (s < e && *s == ' ')
			s++;
	}
	if (s >= e || !is_digit(s[0]))
		return FW_EINVAL;
	if (s + 1 < e && is_digit(s[1])) {
		d = num(s, 2);
		s += 2;
	} else {
		d = num(s, 1);
		s += 1;
	}
	/* what is left: " Nov 1994 08:49:37 GMT" */
	if (e - s != 22 || s[0] != ' ' || s[4] != ' ' || !all_digits(s + 5, 4) || s[9] != ' ' ||
	    !all_digits(s + 10, 2) || s[12] != ':' || !all_digits(s + 13, 2) || s[15] != ':' ||
	    !all_digits(s + 16, 2) || memcmp(s + 18, " GMT", 4) != 0)
		return FW_EINVAL;
	for (int i = 0; i < 12; i++)
		if (strncasecmp(s + 1, months + 3 * i, 3) == 0)
			mo = i + 1;
	if (!mo)
		return FW_EINVAL;
	return to_time(num(s + 5, 4), mo, d, num(s + 10, 2), num(s + 13, 2), num(s + 16, 2), t);
}

static void format_iso_basic(time_t t, char out[17])
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
		snprintf(out, 17, "?");
}

/* ---- parsing the Authorization header ----------------------------------------------------------------- */

static bool copy_part(char *dst, size_t cap, const char *s, size_t n)
{
	if (n == 0 || n >= cap)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_scope_char(s[i]))
			return false;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return true;
}

/* AKID/yyyymmdd/region/service/aws4_request */
static int parse_credential(const char *v, size_t n, struct sigv4_auth *out, struct fw_error *err)
{
	const char *part[5];
	size_t len[5], k = 0;
	const char *p = v, *e = v + n;

	while (k < 5) {
		const char *slash = memchr(p, '/', (size_t)(e - p));
		part[k] = p;
		len[k] = slash ? (size_t)(slash - p) : (size_t)(e - p);
		k++;
		if (!slash)
			break;
		p = slash + 1;
	}
	if (k != 5 || part[4] + len[4] != e)
		return deny(err, 400, E_INCOMPLETE,
			    "Credential must be <access key>/<yyyymmdd>/<region>/<service>/aws4_request");
	if (!copy_part(out->access_key, sizeof(out->access_key), part[0], len[0]))
		return deny(err, 400, E_INCOMPLETE,
			    "the access key in Credential is empty, too long or has invalid characters");
	if (len[1] != 8 || !all_digits(part[1], 8))
		return deny(err, 400, E_INCOMPLETE, "the date in Credential must be yyyymmdd");
	memcpy(out->date, part[1], 8);
	out->date[8] = '\0';
	if (!copy_part(out->region, sizeof(out->region), part[2], len[2]) ||
	    !copy_part(out->service, sizeof(out->service), part[3], len[3]))
		return deny(err, 400, E_INCOMPLETE,
			    "the region or service in Credential is empty, too long or invalid");
	if (len[4] != strlen(TERMINATOR) || memcmp(part[4], TERMINATOR, len[4]) != 0) {
		return deny(err, 400, E_INCOMPLETE,
			    "Credential should be scoped with a valid terminator: 'aws4_request', not '%.*s'",
			    (int)(len[4] > 32 ? 32 : len[4]), part[4]);
	}
	return 0;
}

static int parse_signed_headers(const char *v, size_t n, struct sigv4_auth *out, struct fw_error *err)
{
	size_t names = 1;

	if (n == 0 || n >= sizeof(out->signed_headers))
		return deny(err, 400, E_INCOMPLETE, "SignedHeaders is empty or too long");
	for (size_t i = 0; i < n; i++) {
		if (v[i] == ';') {
			if (i == 0 || i == n - 1 || v[i - 1] == ';')
				return deny(err, 400, E_INCOMPLETE, "SignedHeaders has an empty header name");
			names++;
		} else if (!is_tchar(v[i])) {
			return deny(err, 400, E_INCOMPLETE,
				    "SignedHeaders must be header names separated by ';'");
		}
	}
	if (names > MAX_SIGNED_HEADERS)
		return deny(err, 400, E_INCOMPLETE, "SignedHeaders names too many headers");
	memcpy(out->signed_headers, v, n);
	out->signed_headers[n] = '\0';
	return 0;
}

static int parse_signature(const char *v, size_t n, struct sigv4_auth *out, struct fw_error *err)
{
	if (n != HEX_LEN)
		return deny(err, 400, E_INCOMPLETE, "Signature must be 64 hexadecimal characters");
	for (size_t i = 0; i < n; i++) {
		if (hex_digit((unsigned char)v[i]) < 0)
			return deny(err, 400, E_INCOMPLETE, "Signature must be 64 hexadecimal characters");
		out->signature[i] = to_lower(v[i]);
	}
	out->signature[n] = '\0';
	return 0;
}

static int parse_authorization(const char *v, struct sigv4_auth *out, struct fw_error *err)
{
	size_t alen = strlen(ALGORITHM);
	bool cred = false, sh = false, sig = false;
	int rc;

	while (is_space(*v))
		v++;
	if (strncmp(v, ALGORITHM, alen) != 0 || (v[alen] && !is_space(v[alen])))
		return deny(err, 400, E_INCOMPLETE,
			    "unsupported Authorization scheme; expected 'AWS4-HMAC-SHA256 Credential=..., "
			    "SignedHeaders=..., Signature=...'");
	for (const char *p = v + alen; *p;) {
		size_t len = strcspn(p, ",");
		const char *part = p, *eq, *val;
		size_t plen = len, klen, vlen;

		p += len + (p[len] == ',');
		trim(&part, &plen);
		if (plen == 0)
			continue;
		if (!(eq = memchr(part, '=', plen)))
			return deny(err, 400, E_INCOMPLETE,
				    "Invalid key=value pair (missing equal-sign) in Authorization header");
		klen = (size_t)(eq - part);
		val = eq + 1;
		vlen = plen - klen - 1;
		if (klen == 10 && memcmp(part, "Credential", 10) == 0) {
			if (cred)
				return deny(err, 400, E_INCOMPLETE,
					    "Authorization header has 'Credential' twice");
			if ((rc = parse_credential(val, vlen, out, err)) < 0)
				return rc;
			cred = true;
		} else if (klen == 13 && memcmp(part, "SignedHeaders", 13) == 0) {
			if (sh)
				return deny(err, 400, E_INCOMPLETE,
					    "Authorization header has 'SignedHeaders' twice");
			if ((rc = parse_signed_headers(val, vlen, out, err)) < 0)
				return rc;
			sh = true;
		} else if (klen == 9 && memcmp(part, "Signature", 9) == 0) {
			if (sig)
				return deny(err, 400, E_INCOMPLETE,
					    "Authorization header has 'Signature' twice");
			if ((rc = parse_signature(val, vlen, out, err)) < 0)
				return rc;
			sig = true;
		}
		/* Unknown parameters are ignored: lenient on input, and they are not part of the signature. */
	}
	if (!cred || !sh || !sig) {
		return deny(err, 400, E_INCOMPLETE, "%s%s%sAuthorization=AWS4-HMAC-SHA256",
			    cred ? "" : "Authorization header requires 'Credential' parameter. ",
			    sh ? "" : "Authorization header requires 'SignedHeaders' parameter. ",
			    sig ? "" : "Authorization header requires 'Signature' parameter. ");
	}
	return 0;
}

int sigv4_parse(const struct sigv4_request *req, struct sigv4_auth *out, struct fw_error *err)
{
	const char *authz, *date, *date_name = "x-amz-date";
	size_t count, dlen;
	time_t t;
	int rc;

	memset(out, 0, sizeof(*out));
	authz = find_header(req, "authorization", 13, &count);
	if (!authz) {
		if (req->query && strstr(req->query, "X-Amz-Signature="))
			return deny(err, 400, E_INCOMPLETE,
				    "query-string (presigned URL) authentication is not supported; send "
				    "the signature in an Authorization header");
		return deny(err, 403, E_MISSING,
			    "Missing Authentication Token: sign the request with AWS Signature "
			    "Version 4 (aws-cli does unless given --no-sign-request)");
	}
	if (count > 1)
		return deny(err, 400, E_INCOMPLETE, "the request has more than one Authorization header");
	if ((rc = parse_authorization(authz, out, err)) < 0)
		return rc;

	date = find_header(req, "x-amz-date", 10, &count);
	if (!date) {
		date = find_header(req, "date", 4, &count);
		date_name = "date";
	}
	if (!date)
		return deny(err, 400, E_INCOMPLETE,
			    "Authorization header requires existence of either a 'X-Amz-Date' or a "
			    "'Date' header.");
	if (count > 1)
		return deny(err, 400, E_INCOMPLETE, "the request has more than one date header");
	dlen = strlen(date);
	trim(&date, &dlen);
	if (parse_iso_basic(date, dlen, &t) == 0) {
		memcpy(out->amz_date, date, 16);
		out->amz_date[16] = '\0';
	} else if (date_name[0] == 'd' && parse_http_date(date, dlen, &t) == 0) {
		format_iso_basic(t, out->amz_date);
	} else if (date_name[0] == 'x') {
		return deny(err, 400, E_INCOMPLETE,
			    "X-Amz-Date must be ISO-8601 basic format, e.g. 20150830T123600Z; got '%.*s'",
			    (int)(dlen > 40 ? 40 : dlen), date);
	} else {
		return deny(
			err, 400, E_INCOMPLETE,
			"Date must be like 'Mon, 09 Sep 2011 23:36:00 GMT' or 20110909T233600Z; got '%.*s'",
			(int)(dlen > 40 ? 40 : dlen), date);
	}
	if (memcmp(out->date, out->amz_date, 8) != 0)
		return deny(
			err, 400, E_INVALID,
			"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
			"HTTP: '%s' != '%.8s', from '%s'.",
			out->date, out->amz_date, out->amz_date);
	if (!sigv4_header_signed(out, "host"))
		return deny(err, 400, E_INCOMPLETE, "SignedHeaders must include 'host'");
	if (!sigv4_header_signed(out, date_name))
		return deny(err, 400, E_INCOMPLETE,
			    "SignedHeaders must include '%s', the header that dates the request", date_name);
	return 0;
}

bool sigv4_header_signed(const struct sigv4_auth *auth, const char *name)
{
	size_t nlen = strlen(name);

	for (const char *p = auth->signed_headers; *p;) {
		size_t len = strcspn(p, ";");
		if (len == nlen && strncasecmp(p, name, len) == 0)
			return true;
		p += len + (p[len] == ';');
	}
	return false;
}

/* ---- verification ------------------------------------------------------------------------------------- */

/* A body is only covered by the signature through its hash: when the client names the hash in
 * x-amz-content-sha256, that value is what was signed, so it must be the hash of the body we got. */
static int check_payload(const struct sigv4_request *req, struct fw_error *err)
{
	const char *claimed = find_header(req, "x-amz-content-sha256", 20, NULL);
	char actual[HEX_LEN + 1];
	size_t n;
	int rc;

	if (!claimed)
		return 0;
	n = strlen(claimed);
	trim(&claimed, &n);
	if ((n == 16 && memcmp(claimed, "UNSIGNED-PAYLOAD", 16) == 0) ||
	    (n >= 10 && memcmp(claimed, "STREAMING-", 10) == 0))
		return deny(err, 400, E_INVALID,
			    "x-amz-content-sha256 '%.*s' is not accepted: the body must be "
			    "signed; send its SHA-256 or omit the header",
			    (int)(n > 48 ? 48 : n), claimed);
	if ((rc = sha256_hex(req->body, req->body_len, actual)) < 0)
		return internal(err, rc);
	if (n != HEX_LEN || strncasecmp(claimed, actual, HEX_LEN) != 0) {
		return deny(err, 400, E_INVALID,
			    "The provided 'x-amz-content-sha256' header does not match what was "
			    "computed: the body is not the one that was signed");
	}
	return 0;
}

int sigv4_verify(const struct sigv4_request *req, const struct sigv4_auth *auth, const char *secret,
		 time_t now, struct fw_error *err)
{
	unsigned char key[SIGV4_KEY_LEN];
	int rc;

	if (!secret) {
		fw_fail(err, 500, "InternalFailure", "sigv4_verify called without a secret");
		return FW_EINVAL;
	}
	rc = sigv4_signing_key(secret, auth->date, auth->region, auth->service, key);
	if (rc == FW_EINVAL) {
		fw_fail(err, 500, "InternalFailure", "the stored secret key is longer than %d bytes", MAX_SECRET);
		return rc;
	}
	if (rc < 0)
		return internal(err, rc);
	rc = sigv4_verify_key(req, auth, key, now, err);
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

int sigv4_verify_key(const struct sigv4_request *req, const struct sigv4_auth *auth,
		     const unsigned char key[SIGV4_KEY_LEN], time_t now, struct fw_error *err)
{
	char sig[HEX_LEN + 1], a[17], b[17], c[17];
	struct cbuf cr = { 0 };
	time_t t;
	int rc;

	if (!key || strlen(auth->signature) != HEX_LEN || parse_iso_basic(auth->amz_date, 16, &t) < 0) {
		fw_fail(err, 500, "InternalFailure", "sigv4_verify called without a parsed request");
		return FW_EINVAL;
	}
	if (t < now - SIGV4_MAX_SKEW_SECONDS) {
		format_iso_basic(now - SIGV4_MAX_SKEW_SECONDS, a);
		format_iso_basic(now, b);
		return deny(err, 400, E_INVALID,
			    "Signature expired: %s is now earlier than %s (%s - 15 min.)", auth->amz_date, a,
			    b);
	}
	if (t > now + SIGV4_MAX_SKEW_SECONDS) {
		format_iso_basic(now + SIGV4_MAX_SKEW_SECONDS, a);
		format_iso_basic(now, c);
		return deny(err, 400, E_INVALID,
			    "Signature not yet current: %s is still later than %s (%s + 15 min.)",
			    auth->amz_date, a, c);
	}
	if ((rc = check_payload(req, err)) < 0)
		return rc;
	if ((rc = build_canonical(req, auth->signed_headers, &cr, err)) < 0)
		goto out;
	rc = compute_signature(cr.p, cr.len, auth->amz_date, auth->date, auth->region, auth->service, key, sig);
	if (rc < 0) {
		internal(err, rc);
		goto out;
	}
	if (CRYPTO_memcmp(sig, auth->signature, HEX_LEN) != 0) {
		rc = deny(err, 400, E_INVALID, "%s", MISMATCH_MSG);
	}
out:
	OPENSSL_cleanse(sig, sizeof(sig));
	free(cr.p);
	return rc;
}

/* ---- signing ------------------------------------------------------------------------------------------ */

static int lower_cmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		unsigned char x = (unsigned char)to_lower(*a), y = (unsigned char)to_lower(*b);
		if (x != y || !x)
			return x - y;
	}
}

static int name_ptr_cmp(const void *a, const void *b)
{
	return lower_cmp(*(const char *const *)a, *(const char *const *)b);
}

static bool never_signed(const char *name)
{
	for (size_t i = 0; i < sizeof(unsigned_headers) / sizeof(unsigned_headers[0]); i++)
		if (strcasecmp(name, unsigned_headers[i]) == 0)
			return true;
	return false;
}

static bool valid_scope_arg(const char *s, size_t cap)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n >= cap)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_scope_char(s[i]))
			return false;
	return true;
}

int sigv4_sign(const struct sigv4_request *req, const char *access_key, const char *secret,
	       const char *region, const char *service, const char *amz_date, char *auth_out, size_t auth_cap)
{
	const char *names[MAX_SIGNED_HEADERS], *xdate;
	char sh[sizeof(((struct sigv4_auth *)0)->signed_headers)] = "", sig[HEX_LEN + 1], date[9];
	unsigned char key[SIGV4_KEY_LEN] = { 0 };
	struct cbuf cr = { 0 };
	size_t nnames = 0, shlen = 0, xlen;
	time_t t;
	int rc, n;

	if (!req || !secret || !auth_out || !amz_date ||
	    parse_iso_basic(amz_date, strlen(amz_date), &t) < 0 ||
	    !valid_scope_arg(access_key, sizeof(((struct sigv4_auth *)0)->access_key)) ||
	    !valid_scope_arg(region, 64) || !valid_scope_arg(service, 64))
		return FW_EINVAL;
	if (!find_header(req, "host", 4, NULL))
		return FW_EINVAL;
	if ((xdate = find_header(req, "x-amz-date", 10, NULL))) {
		xlen = strlen(xdate);
		trim(&xdate, &xlen);
		if (xlen != 16 || memcmp(xdate, amz_date, 16) != 0)
			return FW_EINVAL;
	} else if (!find_header(req, "date", 4, NULL)) {
		return FW_EINVAL;
	}

	for (size_t i = 0; i < req->nheaders; i++) {
		const char *name = req->headers[i].name;
		bool dup = false;
		if (!name || !*name || never_signed(name))
			continue;
		for (const char *c = name; *c; c++)
			if (!is_tchar(*c))
				return FW_EINVAL;
		for (size_t j = 0; j < nnames && !dup; j++)
			dup = strcasecmp(names[j], name) == 0;
		if (dup)
			continue;
		if (nnames == MAX_SIGNED_HEADERS)
			return FW_ETOOBIG;
		names[nnames++] = name;
	}
	qsort(names, nnames, sizeof(names[0]), name_ptr_cmp);
	for (size_t i = 0; i < nnames; i++) {
		size_t len = strlen(names[i]);
		if (shlen + len + 2 > sizeof(sh))
			return FW_ETOOBIG;
		if (i)
			sh[shlen++] = ';';
		for (size_t j = 0; j < len; j++)
			sh[shlen++] = to_lower(names[i][j]);
	}
	sh[shlen] = '\0';

	if ((rc = build_canonical(req, sh, &cr, NULL)) < 0)
		goto out;
	memcpy(date, amz_date, 8);
	date[8] = '\0';
	if ((rc = sigv4_signing_key(secret, date, region, service, key)) < 0 ||
	    (rc = compute_signature(cr.p, cr.len, amz_date, date, region, service, key, sig)) < 0)
		goto out;
	n = snprintf(auth_out, auth_cap, "%s Credential=%s/%s/%s/%s/%s, SignedHeaders=%s, Signature=%s",
		     ALGORITHM, access_key, date, region, service, TERMINATOR, sh, sig);
	if (n < 0 || (size_t)n >= auth_cap)
		rc = FW_ETOOBIG;
out:
	OPENSSL_cleanse(key, sizeof(key));
	free(cr.p);
	return rc;
}
