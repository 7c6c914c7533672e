/* Tables and field blocks for the CLI. */
#include "cli/cli_out.h"
#include "cli/cli_args.h"
#include "cli/cli_http.h"
#include "util/buf.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRUNC_CHARS 48
#define CELL_MAX (1 << 16)

/* Characters, not bytes: UTF-8 continuation bytes do not count. */
static size_t width(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

const char *cli_str(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? s : "-";
}

void cli_short_time(const char *s, char *out, size_t cap)
{
	/* 2024-05-01T12:00:00.000Z */
	if (strlen(s) >= 17 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':')
		snprintf(out, cap, "%.10s %.5s", s, s + 11);
	else
		snprintf(out, cap, "%s", s);
}

void cli_value(struct buf *b, const json_t *v)
{
	if (!v || json_is_null(v)) {
		buf_puts(b, "-");
	} else if (json_is_string(v)) {
		buf_puts(b, json_string_length(v) ? json_string_value(v) : "-");
	} else if (json_is_integer(v)) {
		buf_printf(b, "%lld", (long long)json_integer_value(v));
	} else if (json_is_real(v)) {
		buf_printf(b, "%g", json_real_value(v));
	} else if (json_is_boolean(v)) {
		buf_puts(b, json_is_true(v) ? "yes" : "no");
	} else {
		bool strings = json_is_array(v);
		for (size_t i = 0; strings && i < json_array_size(v); i++)
			strings = json_is_string(json_array_get(v, i));
		if (strings) {
			if (!json_array_size(v))
				buf_puts(b, "-");
			for (size_t i = 0; i < json_array_size(v); i++)
				buf_printf(b, "%s%s", i ? ", " : "", json_string_value(json_array_get(v, i)));
		} else {
			char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
			buf_puts(b, s ? s : "?");
			free(s);
		}
	}
}

/* One cell as a single line, cut to TRUNC_CHARS characters when asked. Returns an owned string. */
static char *cell(const struct cli_col *col, const json_t *item)
{
	struct buf b = BUF_INIT(CELL_MAX);
	if (col->fmt) {
		col->fmt(item, &b);
	} else {
		const json_t *v = json_object_get(item, col->key);
		if ((col->flags & CLI_COL_TIME) && json_is_string(v)) {
			char t[64];
			cli_short_time(json_string_value(v), t, sizeof(t));
			buf_puts(&b, t);
		} else {
			cli_value(&b, v);
		}
	}
	char *s = buf_detach(&b);
	if (!s)
		return strdup("");
	for (char *p = s; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	if ((col->flags & CLI_COL_TRUNC) && width(s) > TRUNC_CHARS) {
		size_t chars = 0, i = 0;
		for (; s[i]; i++) {
			if (((unsigned char)s[i] & 0xC0) != 0x80 && chars++ == TRUNC_CHARS - 1)
				break;
		}
		s = realloc(s, i + 4);
		memcpy(s + i, "\xE2\x80\xA6", 4); /* … */
	}
	return s;
}

static void pad(const char *s, size_t w, bool last)
{
	fputs(s, stdout);
	if (last)
		return;
	for (size_t n = width(s); n < w + 2; n++)
		fputc(' ', stdout);
}

void cli_table(const struct cli_col *cols, const json_t *items)
{
	size_t ncol = 0, nrow = json_array_size(items);
	while (cols[ncol].title)
		ncol++;
	char **cells = calloc(ncol * (nrow ? nrow : 1), sizeof(char *));
	size_t *w = calloc(ncol, sizeof(size_t));
	if (!cells || !w) {
		free(cells);
		free(w);
		return;
	}
	for (size_t c = 0; c < ncol; c++)
		w[c] = width(cols[c].title);
	for (size_t r = 0; r < nrow; r++)
		for (size_t c = 0; c < ncol; c++) {
			char *s = cell(&cols[c], json_array_get(items, r));
			cells[r * ncol + c] = s;
			if (s && width(s) > w[c])
				w[c] = width(s);
		}
	for (size_t c = 0; c < ncol; c++)
		pad(cols[c].title, w[c], c + 1 == ncol);
	fputc('\n', stdout);
	for (size_t r = 0; r < nrow; r++) {
		for (size_t c = 0; c < ncol; c++)
			pad(cells[r * ncol + c] ? cells[r * ncol + c] : "", w[c], c + 1 == ncol);
		fputc('\n', stdout);
	}
	for (size_t i = 0; i < ncol * nrow; i++)
		free(cells[i]);
	free(cells);
	free(w);
}

static bool in_list(const char *k, const char *const *list)
{
	for (; list && *list; list++)
		if (!strcmp(k, *list))
			return true;
	return false;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void field_line(const char *k, const json_t *v, size_t w)
{
	struct buf b = BUF_INIT(1 << 20);
	cli_value(&b, v);
	printf("%-*s  ", (int)w, k);
	/* Multi-line text (descriptions, article bodies) keeps its lines, indented under the value. */
	for (const char *p = buf_str(&b); *p; p++) {
		fputc(*p, stdout);
		if (*p == '\n' && p[1])
			printf("%*s", (int)w + 2, "");
	}
	fputc('\n', stdout);
	buf_release(&b);
}

void cli_fields(const json_t *obj, const char *const *order, const char *const *hide)
{
	size_t n = json_object_size(obj), k = 0, w = 0;
	const char **keys = calloc(n ? n : 1, sizeof(char *));
	const char *key;
	json_t *v;
	if (!keys)
		return;
	json_object_foreach((json_t *)obj, key, v) {
		if (in_list(key, hide))
			continue;
		if (strlen(key) > w)
			w = strlen(key);
		if (!in_list(key, order))
			keys[k++] = key;
	}
	qsort(keys, k, sizeof(char *), cmp_str);
	for (const char *const *o = order; o && *o; o++)
		if (json_object_get(obj, *o) && !in_list(*o, hide))
			field_line(*o, json_object_get(obj, *o), w);
	for (size_t i = 0; i < k; i++)
		field_line(keys[i], json_object_get(obj, keys[i]), w);
	free(keys);
}

void cli_print_raw(const struct cli_resp *r)
{
	if (r->len)
		fwrite(r->body, 1, r->len, stdout);
	if (!r->len || r->body[r->len - 1] != '\n')
		fputc('\n', stdout);
}

void cli_print_json(const json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_ENCODE_ANY);
	if (s)
		puts(s);
	free(s);
}

int cli_act(struct cli *c, const char *method, const char *path, const json_t *body,
	    void (*say)(const struct cli_args *a, const json_t *answer), const struct cli_args *a)
{
	struct cli_resp r = CLI_RESP_INIT;
	int rc = cli_call(c, method, path, body, &r);
	if (!rc) {
		if (c->json)
			cli_print_raw(&r);
		else
			say(a, r.json);
	}
	cli_resp_release(&r);
	return rc;
}

int cli_list(struct cli *c, const struct cli_args *a, const char *path, const struct cli_col *cols)
{
	bool all = cli_has(a, "all");
	const char *limit = cli_arg(a, "limit");
	char cursor[128] = "";
	json_t *items = json_array();
	const char *next = NULL;
	struct cli_resp r = CLI_RESP_INIT;
	int rc = CLI_OK, pages = 0;
	if (cli_arg(a, "cursor"))
		snprintf(cursor, sizeof(cursor), "%s", cli_arg(a, "cursor"));
	for (;;) {
		struct buf p = BUF_INIT(1 << 16);
		buf_puts(&p, path);
		cli_query(&p, "limit", limit);
		cli_query(&p, "cursor", cursor[0] ? cursor : NULL);
		cli_resp_release(&r);
		rc = cli_call(c, "GET", buf_str(&p), NULL, &r);
		buf_release(&p);
		if (rc)
			goto out;
		json_t *page = json_object_get(r.json, "items");
		if (!json_is_array(page)) {
			cli_err("%s did not answer with a list", path);
			rc = CLI_EAPI;
			goto out;
		}
		json_array_extend(items, page);
		pages++;
		next = json_string_value(json_object_get(r.json, "next_cursor"));
		/* A cursor that does not move would loop for ever: stop rather than trust it. */
		if (!all || !next || !strcmp(next, cursor))
			break;
		snprintf(cursor, sizeof(cursor), "%s", next);
	}
	if (c->json && pages == 1) {
		cli_print_raw(&r);
	} else if (c->json) {
		json_t *o = json_pack("{s:O,s:s?}", "items", items, "next_cursor", all ? NULL : next);
		cli_print_json(o);
		json_decref(o);
	} else {
		cli_table(cols, items);
		if (next && !all)
			fprintf(stderr, "(more: add --cursor %s, or --all)\n", next);
	}
out:
	cli_resp_release(&r);
	json_decref(items);
	return rc;
}
