/* Unit tests for compat/sigv4: AWS's published SigV4 test-suite vectors, the IAM ListUsers example from the
 * AWS General Reference, two requests captured from aws-cli 1.45.11 (botocore 1.43.11) talking to a local
 * endpoint, and the failure modes a server must get right. Expected canonical forms marked "botocore" were
 * produced by botocore's own SigV4Auth, not by this module. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "compat/sigv4.h"
#include "util/err.h"

#define AKID "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define VANILLA_DATE "20150830T123600Z"
#define SCOPE_2015 "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define MAX_HEADERS 12

/* ISO-8601 basic to epoch, independently of the module (timegm rather than its own calendar code). */
static time_t epoch(const char *iso)
{
	struct tm tm = { 0 };

	assert_int_equal(sscanf(iso, "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
				&tm.tm_min, &tm.tm_sec),
			 6);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return timegm(&tm);
}

/* A test request: headers end at the first entry without a name. */
struct vector {
	const char *name;
	const char *method, *path, *query;
	struct sigv4_header headers[MAX_HEADERS];
	const char *body;
	const char *region, *service, *amz_date;
};

static struct sigv4_request request_of(const struct vector *v)
{
	struct sigv4_request r = { 0 };

	r.method = v->method;
	r.path = v->path;
	r.query = v->query;
	r.headers = v->headers;
	while (r.nheaders < MAX_HEADERS && v->headers[r.nheaders].name)
		r.nheaders++;
	r.body = (const unsigned char *)v->body;
	r.body_len = v->body ? strlen(v->body) : 0;
	return r;
}

static const char *header_of(const struct vector *v, const char *name)
{
	for (size_t i = 0; i < MAX_HEADERS && v->headers[i].name; i++)
		if (strcasecmp(v->headers[i].name, name) == 0)
			return v->headers[i].value;
	return NULL;
}

/* Replaces (or adds) header name's value in a copy of v. */
static void set_header(struct vector *v, const char *name, const char *value)
{
	size_t i;

	for (i = 0; i < MAX_HEADERS - 1 && v->headers[i].name; i++) {
		if (strcasecmp(v->headers[i].name, name) == 0) {
			v->headers[i].value = value;
			return;
		}
	}
	assert_true(i < MAX_HEADERS - 1);
	v->headers[i].name = name;
	v->headers[i].value = value;
}

/* Appends a header even when one of that name exists. */
static void add_header(struct vector *v, const char *name, const char *value)
{
	size_t i = 0;

	while (i < MAX_HEADERS - 1 && v->headers[i].name)
		i++;
	assert_true(i < MAX_HEADERS - 1);
	v->headers[i].name = name;
	v->headers[i].value = value;
}

static void drop_header(struct vector *v, const char *name)
{
	size_t i, j;

	for (i = 0; i < MAX_HEADERS && v->headers[i].name; i++)
		if (strcasecmp(v->headers[i].name, name) == 0)
			break;
	assert_true(i < MAX_HEADERS && v->headers[i].name);
	for (j = i; j + 1 < MAX_HEADERS; j++)
		v->headers[j] = v->headers[j + 1];
	v->headers[MAX_HEADERS - 1].name = NULL;
}

/* parse + verify at time now; returns the first failing code, with e filled. */
static int check(const struct vector *v, const char *secret, time_t now, struct fw_error *e)
{
	struct sigv4_request r = request_of(v);
	struct sigv4_auth a;
	int rc;

	memset(e, 0, sizeof(*e));
	if ((rc = sigv4_parse(&r, &a, e)) < 0)
		return rc;
	return sigv4_verify(&r, &a, secret, now, e);
}

static void assert_denied(int rc, const struct fw_error *e, int status, const char *code, const char *needle)
{
	assert_int_equal(rc, FW_EAUTH);
	assert_int_equal(e->status, status);
	assert_string_equal(e->code, code);
	if (needle && !strstr(e->message, needle))
		fail_msg("message \"%s\" does not contain \"%s\"", e->message, needle);
}

/* ---- AWS SigV4 test suite (aws-c-auth tests/aws-signing-test-suite/v4, 2015 credentials) ---- */

#define HOST { "Host", "example.amazonaws.com" }
#define XDATE { "X-Amz-Date", VANILLA_DATE }
#define AUTHZ(signed, sig) \
	{ "Authorization", "AWS4-HMAC-SHA256 " SCOPE_2015 "SignedHeaders=" signed ", Signature=" sig }
#define SUITE(n, m, p, q, ...) \
	{ .name = n, .method = m, .path = p, .query = q, .headers = { __VA_ARGS__ }, \
	  .region = "us-east-1", .service = "service", .amz_date = VANILLA_DATE }

static const struct vector suite[] = {
	SUITE("get-vanilla", "GET", "/", NULL, HOST, XDATE,
	      AUTHZ("host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")),
	SUITE("get-vanilla-query-order-key-case", "GET", "/", "Param2=value2&Param1=value1", HOST, XDATE,
	      AUTHZ("host;x-amz-date", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")),
	SUITE("get-vanilla-query-order-encoded", "GET", "/", "Param-3=Value3&Param=Value2&%E1%88%B4=Value1",
	      HOST, XDATE,
	      AUTHZ("host;x-amz-date", "371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac")),
	SUITE("get-vanilla-empty-query-key", "GET", "/", "Param1=value1", HOST, XDATE,
	      AUTHZ("host;x-amz-date", "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb")),
	SUITE("get-vanilla-utf8-query", "GET", "/", "\xe1\x88\xb4=bar", HOST, XDATE,
	      AUTHZ("host;x-amz-date", "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04")),
	SUITE("get-utf8", "GET", "/\xe1\x88\xb4", NULL, HOST, XDATE,
	      AUTHZ("host;x-amz-date", "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85")),
	SUITE("get-unreserved", "GET", "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", NULL,
	      HOST, XDATE,
	      AUTHZ("host;x-amz-date", "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f")),
	SUITE("get-space-normalized", "GET", "/example space/", NULL, HOST, XDATE,
	      AUTHZ("host;x-amz-date", "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741")),
	SUITE("get-slashes-normalized", "GET", "//example//", NULL, HOST, XDATE,
	      AUTHZ("host;x-amz-date", "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84")),
	SUITE("get-relative-relative-normalized", "GET", "/example1/example2/../..", NULL, HOST, XDATE,
	      AUTHZ("host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")),
	SUITE("get-header-key-duplicate", "GET", "/", NULL, HOST, { "My-Header1", "value2" },
	      { "My-Header1", "value2" }, { "My-Header1", "value1" }, XDATE,
	      AUTHZ("host;my-header1;x-amz-date",
		    "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea")),
	SUITE("get-header-value-trim", "GET", "/", NULL, HOST, { "My-Header1", " value1" },
	      { "My-Header2", " \"a   b   c\"" }, XDATE,
	      AUTHZ("host;my-header1;my-header2;x-amz-date",
		    "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736")),
	SUITE("get-vanilla-with-session-token", "GET", "/", NULL, HOST, XDATE,
	      { "X-Amz-Security-Token", "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267" },
	      AUTHZ("host;x-amz-date;x-amz-security-token",
		    "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8")),
	SUITE("post-vanilla", "POST", "/", NULL, HOST, XDATE,
	      AUTHZ("host;x-amz-date", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b")),
	{ .name = "post-x-www-form-urlencoded", .method = "POST", .path = "/", .body = "Param1=value1",
	  .region = "us-east-1", .service = "service", .amz_date = VANILLA_DATE,
	  .headers = { { "Content-Type", "application/x-www-form-urlencoded" }, HOST, { "Content-Length", "13" },
		       { "x-amz-content-sha256",
			 "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e" },
		       AUTHZ("content-length;content-type;host;x-amz-content-sha256;x-amz-date",
			     "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b"),
		       XDATE } },
	/* The 2011 suite dated requests with Date, not X-Amz-Date: the fallback of PROTOCOLS.md §5.1. */
	{ .name = "2011 get-vanilla (Date header)", .method = "GET", .path = "/", .region = "us-east-1",
	  .service = "host", .amz_date = "20110909T233600Z",
	  .headers = { { "Date", "Mon, 09 Sep 2011 23:36:00 GMT" }, { "Host", "host.foo.com" },
		       { "Authorization",
			 "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/host/aws4_request, "
			 "SignedHeaders=date;host, "
			 "Signature=b27ccfbfa7df52a200ff74193ca6e32d4b48b8856fab7ebf1c595d0670a7e470" } } },
};

/* Each vector both ways: our signer reproduces AWS's Authorization header byte for byte, and our verifier
 * accepts AWS's signature, and rejects it with one hex digit changed. */
static void test_suite_vector(void **state)
{
	const struct vector *v = *state;
	struct sigv4_request r = request_of(v);
	struct sigv4_auth a;
	struct fw_error e = { 0 };
	char out[512];

	assert_int_equal(sigv4_sign(&r, AKID, SECRET, v->region, v->service, v->amz_date, out, sizeof(out)), 0);
	assert_string_equal(out, header_of(v, "Authorization"));

	assert_int_equal(sigv4_parse(&r, &a, &e), 0);
	assert_string_equal(a.access_key, AKID);
	assert_string_equal(a.region, v->region);
	assert_string_equal(a.service, v->service);
	assert_string_equal(a.amz_date, v->amz_date);
	assert_int_equal(sigv4_verify(&r, &a, SECRET, epoch(v->amz_date), &e), 0);

	a.signature[10] = a.signature[10] == '0' ? '1' : '0';
	assert_denied(sigv4_verify(&r, &a, SECRET, epoch(v->amz_date), &e), &e, 400,
		      "InvalidSignatureException", "does not match");
}

/* get-vanilla step by step: canonical request text and the exact header value. */
static void test_get_vanilla_canonical(void **state)
{
	struct sigv4_request r = request_of(&suite[0]);
	struct fw_error e = { 0 };
	char *cr = NULL;

	assert_int_equal(sigv4_canonical_request(&r, "host;x-amz-date", &cr, &e), 0);
	assert_string_equal(cr, "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
				"host;x-amz-date\n" EMPTY_SHA256);
	free(cr);
}

/* The IAM ListUsers example of the AWS General Reference ("Create a canonical request" ... "Calculate the
 * signature"): hashed canonical request f536975d…, signature 5d672d79…. */
static void test_iam_list_users_example(void **state)
{
	const struct vector v = {
		.method = "GET", .path = "/", .query = "Action=ListUsers&Version=2010-05-08",
		.headers = { { "Content-Type", "application/x-www-form-urlencoded; charset=utf-8" },
			     { "Host", "iam.amazonaws.com" }, XDATE,
			     { "Authorization",
			       "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
			       "SignedHeaders=content-type;host;x-amz-date, "
			       "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7" } },
	};
	struct sigv4_request r = request_of(&v);
	struct fw_error e = { 0 };
	char out[512], *cr = NULL;

	assert_int_equal(sigv4_canonical_request(&r, "content-type;host;x-amz-date", &cr, &e), 0);
	assert_string_equal(cr, "GET\n/\nAction=ListUsers&Version=2010-05-08\n"
				"content-type:application/x-www-form-urlencoded; charset=utf-8\n"
				"host:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
				"content-type;host;x-amz-date\n" EMPTY_SHA256);
	free(cr);

	assert_int_equal(sigv4_sign(&r, AKID, SECRET, "us-east-1", "iam", VANILLA_DATE, out, sizeof(out)), 0);
	assert_string_equal(out, header_of(&v, "Authorization"));
	assert_int_equal(check(&v, SECRET, epoch(VANILLA_DATE), &e), 0);
}

/* ---- what aws-cli really sends (PROTOCOLS.md §3.1, §5.3) ---- */

#define CLI_DATE "20261122T121550Z"
#define CLI_BODY "{\"subject\": \"disk full on db-1\", \"communicationBody\": \"The  volume is at 100%\"}"
#define CLI_UA                                                                                      \
	"aws-cli/1.45.11 md/Botocore#1.43.11 ua/2.1 os/linux#6.18.44-fc-v769 md/arch#x86_64 lang/python#3.11.7 " \
	"md/pyimpl#CPython m/D,b,N,g,Z cfg/retry-mode#legacy botocore/1.43.11"
#define CLI_AUTHZ                                                                                   \
	"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-east-1/support/aws4_request, "           \
	"SignedHeaders=content-type;host;x-amz-date;x-amz-target, "                                     \
	"Signature=a1784ea7310589fc8e030ff2873bb8081f05490942813f137692eb3beb2e9248"

/* `aws --endpoint-url http://127.0.0.1:18099 support create-case --subject 'disk full on db-1'
 * --communication-body 'The  volume is at 100%'`, every header in the order it arrived. */
static const struct vector cli_create_case = {
	.method = "POST", .path = "/", .body = CLI_BODY, .region = "us-east-1", .service = "support",
	.amz_date = CLI_DATE,
	.headers = { { "Host", "127.0.0.1:18099" }, { "Accept-Encoding", "identity" },
		     { "X-Amz-Target", "AWSSupport_20130415.CreateCase" },
		     { "Content-Type", "application/x-amz-json-1.1" }, { "User-Agent", CLI_UA },
		     { "X-Amz-Date", CLI_DATE }, { "Authorization", CLI_AUTHZ },
		     { "amz-sdk-invocation-id", "d8b26842-0ec6-424e-ba2a-88d59cd6e659" },
		     { "amz-sdk-request", "attempt=1" }, { "Content-Length", "79" } },
};

static void test_aws_cli_json11_post(void **state)
{
	struct sigv4_request r = request_of(&cli_create_case);
	struct sigv4_auth a;
	struct fw_error e = { 0 };

	assert_int_equal(sigv4_parse(&r, &a, &e), 0);
	assert_string_equal(a.region, "us-east-1");
	assert_string_equal(a.service, "support");
	assert_string_equal(a.signed_headers, "content-type;host;x-amz-date;x-amz-target");
	assert_true(sigv4_header_signed(&a, "X-Amz-Target"));
	assert_false(sigv4_header_signed(&a, "User-Agent"));
	assert_int_equal(sigv4_verify(&r, &a, SECRET, epoch(CLI_DATE) + 60, &e), 0);
}

/* Our signer, fed the headers botocore has at signing time (User-Agent included, Accept-Encoding and
 * Content-Length not yet), produces the captured header exactly: it is a faithful load generator. */
static void test_sign_like_aws_cli(void **state)
{
	struct vector v = cli_create_case;
	struct sigv4_request r;
	char out[512];

	drop_header(&v, "Accept-Encoding");
	drop_header(&v, "Content-Length");
	drop_header(&v, "Authorization");
	r = request_of(&v);
	assert_int_equal(sigv4_sign(&r, AKID, SECRET, "us-east-1", "support", CLI_DATE, out, sizeof(out)), 0);
	assert_string_equal(out, CLI_AUTHZ);
}

/* The same CLI with --endpoint-url http://127.0.0.1:18099/aws/support and AWS_DEFAULT_REGION=eu-west-1:
 * the path is signed as given and the scope carries the configured region (PROTOCOLS.md §5.4). */
static void test_aws_cli_endpoint_path_and_region(void **state)
{
	const struct vector v = {
		.method = "POST", .path = "/aws/support", .body = "{\"subject\": \"x\", \"communicationBody\": \"y\"}",
		.headers = { { "Host", "127.0.0.1:18099" }, { "Accept-Encoding", "identity" },
			     { "X-Amz-Target", "AWSSupport_20130415.CreateCase" },
			     { "Content-Type", "application/x-amz-json-1.1" }, { "User-Agent", CLI_UA },
			     { "X-Amz-Date", "20261122T121551Z" },
			     { "Authorization",
			       "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/eu-west-1/support/aws4_request, "
			       "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
			       "Signature=4bc9e839ab3c595c68fb9bfe3871e793ac083d3694d3080e9caa16e5c682bd14" },
			     { "amz-sdk-invocation-id", "2d3ab05d-9b2c-489d-91f7-180560b6d35b" },
			     { "amz-sdk-request", "attempt=1" }, { "Content-Length", "42" } },
	};
	struct vector root = v;
	struct fw_error e = { 0 };

	assert_int_equal(check(&v, SECRET, epoch("20261122T121551Z"), &e), 0);
	/* The path is part of what was signed: the same request replayed at "/" fails. */
	root.path = "/";
	assert_denied(check(&root, SECRET, epoch("20261122T121551Z"), &e), &e, 400, "InvalidSignatureException",
		      "does not match");
}

/* ---- round trip and tampering ------------------------------------------------------------------------ */

#define RT_DATE "20240229T235959Z"

static struct vector round_trip_vector(char *authz, size_t cap)
{
	struct vector v = {
		.method = "post", .path = "/api/v1/things/a%20b/", .query = "z=1&a=%7e&a=0&flag",
		.body = "{\"Title\":\"disk full\",\"Priority\":2}",
		.headers = { { "host", "flywheel.local:8443" }, { "Content-Type", "application/x-amz-json-1.1" },
			     { "X-Amz-Target", "AmazonSSM.CreateOpsItem" }, { "X-Amz-Date", RT_DATE },
			     { "User-Agent", "bench/aws" } },
	};
	struct sigv4_request r = request_of(&v);

	assert_int_equal(sigv4_sign(&r, "AKIAFLYWHEEL0001", "s3cr3t/with+chars", "ap-south-1", "ssm", RT_DATE,
				    authz, cap),
			 0);
	set_header(&v, "Authorization", authz);
	return v;
}

static void test_round_trip(void **state)
{
	char authz[512];
	struct vector v = round_trip_vector(authz, sizeof(authz));
	struct sigv4_request r = request_of(&v);
	struct sigv4_auth a;
	struct fw_error e = { 0 };

	assert_non_null(strstr(authz, "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "));
	assert_int_equal(sigv4_parse(&r, &a, &e), 0);
	assert_string_equal(a.access_key, "AKIAFLYWHEEL0001");
	assert_string_equal(a.date, "20240229");
	assert_string_equal(a.region, "ap-south-1");
	assert_string_equal(a.service, "ssm");
	assert_string_equal(a.amz_date, RT_DATE);
	assert_int_equal(sigv4_verify(&r, &a, "s3cr3t/with+chars", epoch(RT_DATE), &e), 0);
}

/* AWS's documented example of deriving a signing key (secret wJalr…, 20120215, us-east-1, iam). */
static void test_signing_key_known_answer(void **state)
{
	unsigned char k[SIGV4_KEY_LEN];
	char hex[2 * SIGV4_KEY_LEN + 1];

	assert_int_equal(sigv4_signing_key(SECRET, "20120215", "us-east-1", "iam", k), 0);
	for (int i = 0; i < SIGV4_KEY_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", k[i]);
	assert_string_equal(hex, "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
	assert_int_equal(sigv4_signing_key(NULL, "20120215", "us-east-1", "iam", k), FW_EINVAL);
}

/* A derived key verifies exactly what the secret verifies, and only for its own scope. */
static void test_verify_with_derived_key(void **state)
{
	char authz[512];
	struct vector v = round_trip_vector(authz, sizeof(authz));
	struct sigv4_request r = request_of(&v);
	struct sigv4_auth a;
	struct fw_error e = { 0 };
	unsigned char k[SIGV4_KEY_LEN];

	assert_int_equal(sigv4_parse(&r, &a, &e), 0);
	assert_int_equal(sigv4_signing_key("s3cr3t/with+chars", a.date, a.region, a.service, k), 0);
	assert_int_equal(sigv4_verify_key(&r, &a, k, epoch(RT_DATE), &e), 0);
	/* Same secret, another region / day / service: another key, and the signature does not match. */
	assert_int_equal(sigv4_signing_key("s3cr3t/with+chars", a.date, "eu-west-1", a.service, k), 0);
	assert_denied(sigv4_verify_key(&r, &a, k, epoch(RT_DATE), &e), &e, 400, "InvalidSignatureException",
		      "Check your AWS Secret Access Key");
	assert_int_equal(sigv4_signing_key("s3cr3t/with+chars", "20240228", a.region, a.service, k), 0);
	assert_denied(sigv4_verify_key(&r, &a, k, epoch(RT_DATE), &e), &e, 400, "InvalidSignatureException", NULL);
	assert_int_equal(sigv4_signing_key("s3cr3t/with+chars", a.date, a.region, "support", k), 0);
	assert_denied(sigv4_verify_key(&r, &a, k, epoch(RT_DATE), &e), &e, 400, "InvalidSignatureException", NULL);
	/* The key does not stand in for the other checks: clock skew still applies. */
	assert_int_equal(sigv4_signing_key("s3cr3t/with+chars", a.date, a.region, a.service, k), 0);
	assert_denied(sigv4_verify_key(&r, &a, k, epoch(RT_DATE) + 3600, &e), &e, 400, "InvalidSignatureException",
		      "Signature expired");
}

static void test_wrong_secret(void **state)
{
	char authz[512];
	struct vector v = round_trip_vector(authz, sizeof(authz));
	struct fw_error e = { 0 };

	assert_denied(check(&v, "s3cr3t/with+charS", epoch(RT_DATE), &e), &e, 400, "InvalidSignatureException",
		      "Check your AWS Secret Access Key");
	assert_denied(check(&v, "", epoch(RT_DATE), &e), &e, 400, "InvalidSignatureException", NULL);
}

static void test_tampered_body(void **state)
{
	char authz[512];
	struct vector v = round_trip_vector(authz, sizeof(authz));
	struct fw_error e = { 0 };

	assert_int_equal(check(&v, "s3cr3t/with+chars", epoch(RT_DATE), &e), 0);
	v.body = "{\"Title\":\"disk full\",\"Priority\":1}";
	assert_denied(check(&v, "s3cr3t/with+chars", epoch(RT_DATE), &e), &e, 400, "InvalidSignatureException",
		      "does not match");
}

static void test_tampered_request_line(void **state)
{
	char authz[512];
	struct vector v = round_trip_vector(authz, sizeof(authz)), w;
	struct fw_error e = { 0 };

	w = v;
	w.query = "z=2&a=%7e&a=0&flag";
	assert_denied(check(&w, "s3cr3t/with+chars", epoch(RT_DATE), &e), &e, 400, "InvalidSignatureException",
		      NULL);
	w = v;
	w.path = "/api/v1/things/a%20c/";
	assert_denied(check(&w, "s3cr3t/with+chars", epoch(RT_DATE), &e), &e, 400, "InvalidSignatureException",
		      NULL);
	w = v;
	w.method = "PUT";
	assert_denied(check(&w, "s3cr3t/with+chars", epoch(RT_DATE), &e), &e, 400, "InvalidSignatureException",
		      NULL);
	/* Query order and escape case are not part of the signature: these canonicalise to the same thing. */
	w = v;
	w.query = "flag&a=0&a=~&z=1";
	assert_int_equal(check(&w, "s3cr3t/with+chars", epoch(RT_DATE), &e), 0);
}

/* A signed header changed in transit fails; an unsigned one (User-Agent) may change freely. */
static void test_tampered_signed_header(void **state)
{
	char authz[512];
	struct vector v = round_trip_vector(authz, sizeof(authz)), w;
	struct fw_error e = { 0 };

	w = v;
	set_header(&w, "X-Amz-Target", "AmazonSSM.UpdateOpsItem");
	assert_denied(check(&w, "s3cr3t/with+chars", epoch(RT_DATE), &e), &e, 400, "InvalidSignatureException",
		      "does not match");
	w = v;
	set_header(&w, "Host", "evil.example:8443");
	assert_denied(check(&w, "s3cr3t/with+chars", epoch(RT_DATE), &e), &e, 400, "InvalidSignatureException",
		      NULL);
	/* A second copy of a signed header changes its canonical value ("a,b"). */
	w = v;
	add_header(&w, "x-amz-target", "AmazonSSM.DeleteOpsItem");
	assert_denied(check(&w, "s3cr3t/with+chars", epoch(RT_DATE), &e), &e, 400, "InvalidSignatureException",
		      NULL);
	w = v;
	set_header(&w, "User-Agent", "something else");
	assert_int_equal(check(&w, "s3cr3t/with+chars", epoch(RT_DATE), &e), 0);
}

static void test_missing_signed_header(void **state)
{
	char authz[512];
	struct vector v = round_trip_vector(authz, sizeof(authz));
	struct fw_error e = { 0 };

	drop_header(&v, "Content-Type");
	assert_denied(check(&v, "s3cr3t/with+chars", epoch(RT_DATE), &e), &e, 400, "InvalidSignatureException",
		      "'content-type' is listed in SignedHeaders but is not in the request");
}

/* ±15 minutes inclusive, and AWS's wording outside the window. */
static void test_clock_skew(void **state)
{
	struct fw_error e = { 0 };
	time_t t = epoch(VANILLA_DATE);

	assert_int_equal(check(&suite[0], SECRET, t + 900, &e), 0);
	assert_int_equal(check(&suite[0], SECRET, t - 900, &e), 0);
	assert_denied(check(&suite[0], SECRET, t + 901, &e), &e, 400, "InvalidSignatureException", NULL);
	assert_string_equal(e.message, "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z "
				       "(20150830T125101Z - 15 min.)");
	assert_denied(check(&suite[0], SECRET, t - 901, &e), &e, 400, "InvalidSignatureException", NULL);
	assert_string_equal(e.message, "Signature not yet current: 20150830T123600Z is still later than "
				       "20150830T123559Z (20150830T122059Z + 15 min.)");
	assert_denied(check(&suite[0], SECRET, t + 86400 * 365, &e), &e, 400, "InvalidSignatureException",
		      "Signature expired");
}

/* ---- malformed and missing authentication ------------------------------------------------------------ */

static void test_missing_authorization(void **state)
{
	struct vector v = suite[0];
	struct fw_error e = { 0 };

	drop_header(&v, "Authorization");
	assert_denied(check(&v, SECRET, epoch(VANILLA_DATE), &e), &e, 403, "MissingAuthenticationTokenException",
		      "Missing Authentication Token");

	v.query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=abc";
	assert_denied(check(&v, SECRET, epoch(VANILLA_DATE), &e), &e, 400, "IncompleteSignatureException",
		      "presigned");
}

#define GOOD_SIG "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"

static void test_malformed_authorization(void **state)
{
	static const struct {
		const char *value, *needle;
	} cases[] = {
		{ "AWS4-HMAC-SHA1 " SCOPE_2015 "SignedHeaders=host;x-amz-date, Signature=" GOOD_SIG,
		  "unsupported Authorization scheme" },
		{ "Bearer 0123456789abcdef", "unsupported Authorization scheme" },
		{ "AWS AKIDEXAMPLE:c2lnbmF0dXJl", "unsupported Authorization scheme" },
		{ "AWS4-HMAC-SHA256", "requires 'Credential' parameter" },
		{ "AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature=" GOOD_SIG,
		  "requires 'Credential' parameter" },
		{ "AWS4-HMAC-SHA256 " SCOPE_2015 "Signature=" GOOD_SIG, "requires 'SignedHeaders' parameter" },
		{ "AWS4-HMAC-SHA256 " SCOPE_2015 "SignedHeaders=host;x-amz-date", "requires 'Signature' parameter" },
		{ "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/aws4_request, "
		  "SignedHeaders=host;x-amz-date, Signature=" GOOD_SIG,
		  "Credential must be" },
		{ "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request/x, "
		  "SignedHeaders=host;x-amz-date, Signature=" GOOD_SIG,
		  "Credential must be" },
		{ "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws5_request, "
		  "SignedHeaders=host;x-amz-date, Signature=" GOOD_SIG,
		  "valid terminator: 'aws4_request', not 'aws5_request'" },
		{ "AWS4-HMAC-SHA256 Credential=/20150830/us-east-1/service/aws4_request, "
		  "SignedHeaders=host;x-amz-date, Signature=" GOOD_SIG,
		  "access key" },
		{ "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/2015-08-30/us-east-1/service/aws4_request, "
		  "SignedHeaders=host;x-amz-date, Signature=" GOOD_SIG,
		  "yyyymmdd" },
		{ "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830//service/aws4_request, "
		  "SignedHeaders=host;x-amz-date, Signature=" GOOD_SIG,
		  "region or service" },
		{ "AWS4-HMAC-SHA256 " SCOPE_2015 "SignedHeaders=host;x-amz-date, Signature=" GOOD_SIG "0",
		  "64 hexadecimal" },
		{ "AWS4-HMAC-SHA256 " SCOPE_2015 "SignedHeaders=host;x-amz-date, "
		  "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf3g",
		  "64 hexadecimal" },
		{ "AWS4-HMAC-SHA256 " SCOPE_2015 "SignedHeaders=host;;x-amz-date, Signature=" GOOD_SIG,
		  "empty header name" },
		{ "AWS4-HMAC-SHA256 " SCOPE_2015 "SignedHeaders=host x-amz-date, Signature=" GOOD_SIG,
		  "separated by ';'" },
		{ "AWS4-HMAC-SHA256 " SCOPE_2015 "SignedHeaders, Signature=" GOOD_SIG, "missing equal-sign" },
		{ "AWS4-HMAC-SHA256 " SCOPE_2015 SCOPE_2015 "SignedHeaders=host;x-amz-date, Signature=" GOOD_SIG,
		  "'Credential' twice" },
		{ "AWS4-HMAC-SHA256 " SCOPE_2015 "SignedHeaders=x-amz-date, Signature=" GOOD_SIG,
		  "must include 'host'" },
		{ "AWS4-HMAC-SHA256 " SCOPE_2015 "SignedHeaders=host, Signature=" GOOD_SIG,
		  "must include 'x-amz-date'" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vector v = suite[0];
		struct fw_error e = { 0 };
		int rc;

		set_header(&v, "Authorization", cases[i].value);
		rc = check(&v, SECRET, epoch(VANILLA_DATE), &e);
		if (rc != FW_EAUTH || e.status != 400 || strcmp(e.code, "IncompleteSignatureException") != 0 ||
		    !strstr(e.message, cases[i].needle))
			fail_msg("case %zu <%s>: rc=%d status=%d code=%s message=\"%s\", wanted \"%s\"", i,
				 cases[i].value, rc, e.status, e.code, e.message, cases[i].needle);
	}
}

/* Parts in any order, spaces around commas, upper-case hex and unknown parameters are all accepted. */
static void test_lenient_authorization(void **state)
{
	struct vector v = suite[0];
	struct fw_error e = { 0 };

	set_header(&v, "Authorization", "AWS4-HMAC-SHA256   Signature=5FA00FA31553B73EBF1942676E86291E8372FF2A2260"
					 "956D9B8AAE1D763FBF31 ,SignedHeaders=host;x-amz-date,Future=1,"
					 "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request");
	assert_int_equal(check(&v, SECRET, epoch(VANILLA_DATE), &e), 0);
}

static void test_date_headers(void **state)
{
	struct vector v;
	struct fw_error e = { 0 };
	time_t t = epoch(VANILLA_DATE);

	v = suite[0];
	drop_header(&v, "X-Amz-Date");
	assert_denied(check(&v, SECRET, t, &e), &e, 400, "IncompleteSignatureException",
		      "either a 'X-Amz-Date' or a 'Date' header");

	v = suite[0];
	set_header(&v, "X-Amz-Date", "2015-08-30T12:36:00Z");
	assert_denied(check(&v, SECRET, t, &e), &e, 400, "IncompleteSignatureException", "ISO-8601 basic");

	v = suite[0];
	set_header(&v, "X-Amz-Date", "20150230T123600Z"); /* 30 February */
	assert_denied(check(&v, SECRET, t, &e), &e, 400, "IncompleteSignatureException", "ISO-8601 basic");

	v = suite[0];
	set_header(&v, "X-Amz-Date", "20150831T003600Z");
	assert_denied(check(&v, SECRET, t, &e), &e, 400, "InvalidSignatureException",
		      "Date in Credential scope does not match");

	/* With X-Amz-Date present, Date is not the one that counts (and need not be signed). */
	v = suite[0];
	set_header(&v, "Date", "Mon, 09 Sep 2011 23:36:00 GMT");
	assert_int_equal(check(&v, SECRET, t, &e), 0);

	v = suite[15];
	assert_string_equal(v.name, "2011 get-vanilla (Date header)");
	set_header(&v, "Date", "Mon, 09 Sep 2011 23:36:00 PST");
	assert_denied(check(&v, SECRET, epoch("20110909T233600Z"), &e), &e, 400, "IncompleteSignatureException",
		      "Date must be");

	v = suite[0];
	add_header(&v, "X-AMZ-DATE", VANILLA_DATE);
	assert_denied(check(&v, SECRET, t, &e), &e, 400, "IncompleteSignatureException", "more than one date");
}

static void test_duplicate_authorization(void **state)
{
	struct vector v = suite[0];
	struct fw_error e = { 0 };

	add_header(&v, "authorization", header_of(&suite[0], "Authorization"));
	assert_denied(check(&v, SECRET, epoch(VANILLA_DATE), &e), &e, 400, "IncompleteSignatureException",
		      "more than one Authorization");
}

/* ---- x-amz-content-sha256 ---------------------------------------------------------------------------- */

static void test_content_sha256(void **state)
{
	struct vector v = suite[14]; /* post-x-www-form-urlencoded */
	struct sigv4_request r;
	struct fw_error e = { 0 };
	char authz[512];

	assert_string_equal(v.name, "post-x-www-form-urlencoded");
	assert_int_equal(check(&v, SECRET, epoch(VANILLA_DATE), &e), 0);

	/* The client signed a hash, then sent another body: the signature alone would not notice. */
	v.body = "Param1=value2";
	assert_denied(check(&v, SECRET, epoch(VANILLA_DATE), &e), &e, 400, "InvalidSignatureException",
		      "x-amz-content-sha256");

	/* A client that properly signs UNSIGNED-PAYLOAD is still refused: the body would be unprotected. */
	v = suite[14];
	drop_header(&v, "Authorization");
	set_header(&v, "x-amz-content-sha256", "UNSIGNED-PAYLOAD");
	r = request_of(&v);
	assert_int_equal(sigv4_sign(&r, AKID, SECRET, "us-east-1", "service", VANILLA_DATE, authz, sizeof(authz)),
			 0);
	set_header(&v, "Authorization", authz);
	assert_denied(check(&v, SECRET, epoch(VANILLA_DATE), &e), &e, 400, "InvalidSignatureException",
		      "UNSIGNED-PAYLOAD");

	/* Upper-case hex of the right digest is the right digest. */
	v = suite[14];
	drop_header(&v, "Authorization");
	set_header(&v, "x-amz-content-sha256", "9095672BBD1F56DFC5B65F3E153ADC8731A4A654192329106275F4C7B24D0B6E");
	r = request_of(&v);
	assert_int_equal(sigv4_sign(&r, AKID, SECRET, "us-east-1", "service", VANILLA_DATE, authz, sizeof(authz)),
			 0);
	set_header(&v, "Authorization", authz);
	assert_int_equal(check(&v, SECRET, epoch(VANILLA_DATE), &e), 0);
}

/* ---- canonical form details (expected values from botocore's SigV4Auth) ------------------------------ */

static void test_canonical_uri_and_query(void **state)
{
	static const struct {
		const char *path, *query, *want_uri, *want_query;
	} cases[] = {
		{ "/foo%20bar/./baz/../qux//", NULL, "/foo%2520bar/qux/", "" },
		{ "/a/b/../../..", NULL, "/", "" },
		{ "//x//y/", NULL, "/x/y/", "" },
		{ "/%7e~", NULL, "/%257e~", "" },
		{ "/a:b@c!$&'()*+,;=", NULL, "/a%3Ab%40c%21%24%26%27%28%29%2A%2B%2C%3B%3D", "" },
		{ "", "", "/", "" },
		{ NULL, "b=2&a=%7e&a=1&c", "/", "a=1&a=~&b=2&c=" },
		{ "/", "k=a+b&k=a%20b&&x=%2F%zz", "/", "k=a%20b&k=a%2Bb&x=%2F%25zz" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct sigv4_header h[] = { { "Host", "h" } };
		struct sigv4_request r = { .method = "get", .path = cases[i].path, .query = cases[i].query,
					   .headers = h, .nheaders = 1 };
		struct fw_error e = { 0 };
		char want[512], *cr = NULL;

		snprintf(want, sizeof(want), "GET\n%s\n%s\nhost:h\n\nhost\n" EMPTY_SHA256, cases[i].want_uri,
			 cases[i].want_query);
		assert_int_equal(sigv4_canonical_request(&r, "host", &cr, &e), 0);
		if (strcmp(cr, want) != 0)
			fail_msg("case %zu: got\n%s\nwanted\n%s", i, cr, want);
		free(cr);
	}
}

static void test_header_signed(void **state)
{
	struct sigv4_auth a = { .signed_headers = "content-type;host;x-amz-date;x-amz-target" };

	assert_true(sigv4_header_signed(&a, "content-type"));
	assert_true(sigv4_header_signed(&a, "X-Amz-Target"));
	assert_true(sigv4_header_signed(&a, "HOST"));
	assert_false(sigv4_header_signed(&a, "x-amz"));
	assert_false(sigv4_header_signed(&a, "x-amz-target2"));
	assert_false(sigv4_header_signed(&a, "content-length"));
}

/* ---- the signer's contract --------------------------------------------------------------------------- */

static void test_sign_rejects_bad_input(void **state)
{
	struct vector v = suite[0];
	struct sigv4_request r;
	char out[512];

	drop_header(&v, "Authorization");
	r = request_of(&v);
	assert_int_equal(sigv4_sign(&r, AKID, SECRET, "us-east-1", "service", VANILLA_DATE, out, 40), FW_ETOOBIG);
	assert_int_equal(sigv4_sign(&r, AKID, SECRET, "us-east-1", "service", "20150830T123601Z", out,
				    sizeof(out)),
			 FW_EINVAL);
	assert_int_equal(sigv4_sign(&r, AKID, SECRET, "us/east", "service", VANILLA_DATE, out, sizeof(out)),
			 FW_EINVAL);
	assert_int_equal(sigv4_sign(&r, "", SECRET, "us-east-1", "service", VANILLA_DATE, out, sizeof(out)),
			 FW_EINVAL);
	assert_int_equal(sigv4_sign(&r, AKID, SECRET, "us-east-1", "service", "2015-08-30", out, sizeof(out)),
			 FW_EINVAL);

	drop_header(&v, "Host");
	r = request_of(&v);
	assert_int_equal(sigv4_sign(&r, AKID, SECRET, "us-east-1", "service", VANILLA_DATE, out, sizeof(out)),
			 FW_EINVAL);
}

/* Every suite vector becomes its own named test. */
int main(void)
{
	enum { NSUITE = sizeof(suite) / sizeof(suite[0]) };
	static const struct CMUnitTest named[] = {
		cmocka_unit_test(test_get_vanilla_canonical),
		cmocka_unit_test(test_iam_list_users_example),
		cmocka_unit_test(test_aws_cli_json11_post),
		cmocka_unit_test(test_sign_like_aws_cli),
		cmocka_unit_test(test_aws_cli_endpoint_path_and_region),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_signing_key_known_answer),
		cmocka_unit_test(test_verify_with_derived_key),
		cmocka_unit_test(test_wrong_secret),
		cmocka_unit_test(test_tampered_body),
		cmocka_unit_test(test_tampered_request_line),
		cmocka_unit_test(test_tampered_signed_header),
		cmocka_unit_test(test_missing_signed_header),
		cmocka_unit_test(test_clock_skew),
		cmocka_unit_test(test_missing_authorization),
		cmocka_unit_test(test_malformed_authorization),
		cmocka_unit_test(test_lenient_authorization),
		cmocka_unit_test(test_date_headers),
		cmocka_unit_test(test_duplicate_authorization),
		cmocka_unit_test(test_content_sha256),
		cmocka_unit_test(test_canonical_uri_and_query),
		cmocka_unit_test(test_header_signed),
		cmocka_unit_test(test_sign_rejects_bad_input),
	};
	enum { NNAMED = sizeof(named) / sizeof(named[0]) };
	struct CMUnitTest tests[NSUITE + NNAMED];

	for (size_t i = 0; i < NSUITE; i++) {
		struct CMUnitTest t = { .name = suite[i].name, .test_func = test_suite_vector,
					.initial_state = (void *)&suite[i] };
		tests[i] = t;
	}
	for (size_t i = 0; i < NNAMED; i++)
		tests[NSUITE + i] = named[i];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
