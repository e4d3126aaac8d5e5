/* Lookup and rendering of MMDS values (vmm/mmds/mmds_render.c), Firecracker's rules: a JSON
 * pointer from the URI path (runs of '/' collapse, a trailing '/' is ignored, ~0 ~1 escapes,
 * array indices), JSON rendering compact with sorted keys, IMDS rendering of an object as its
 * sorted keys with '/' after sub-objects, of a string as itself, anything else unsupported. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/mmds/mmds_render.h"

static json_t *doc;

static void setup(void)
{
	doc = json_loads(
	    "{\"latest\":{\"meta-data\":{\"reservation-id\":\"r-1\",\"ami-id\":\"ami-1\","
	    "\"network\":{\"x\":\"y\"}}},"
	    "\"a/b\":\"slash\",\"t~n\":\"tilde\",\"list\":[\"zero\",{\"k\":\"v\"}],"
	    "\"num\":7,\"flag\":true,\"nothing\":null,\"empty\":{}}",
	    0, NULL);
	cr_assert(doc);
}

static void teardown(void)
{
	json_decref(doc);
}

TestSuite(mmds_render, .init = setup, .fini = teardown);

/* Renders the value at path; returns the error, the text in *got. */
static int render(const char *path, enum mmds_format fmt, char **got)
{
	const json_t *v = mmds_lookup(doc, path, strlen(path));
	size_t len;
	*got = NULL;
	if (!v)
		return -ENOENT;
	int err = mmds_render(v, fmt, got, &len);
	if (!err)
		cr_assert_eq(len, strlen(*got));
	return err;
}

static void want(const char *path, enum mmds_format fmt, const char *text)
{
	char *got;
	int err = render(path, fmt, &got);
	cr_assert_eq(err, 0, "%s: error %d", path, err);
	cr_assert_str_eq(got, text, "%s", path);
	free(got);
}

static void want_err(const char *path, enum mmds_format fmt, int err)
{
	char *got;
	cr_assert_eq(render(path, fmt, &got), err, "%s", path);
}

Test(mmds_render, imds_object_lists_sorted_keys_with_slash_for_objects)
{
	want("/latest", MMDS_FORMAT_IMDS, "meta-data/");
	want("/latest/meta-data", MMDS_FORMAT_IMDS, "ami-id\nnetwork/\nreservation-id");
	want("/latest/meta-data/", MMDS_FORMAT_IMDS, "ami-id\nnetwork/\nreservation-id");
	want("/empty", MMDS_FORMAT_IMDS, "");
}

Test(mmds_render, imds_string_as_is)
{
	want("/latest/meta-data/ami-id", MMDS_FORMAT_IMDS, "ami-1");
}

Test(mmds_render, imds_other_types_unsupported)
{
	want_err("/num", MMDS_FORMAT_IMDS, -ENOTSUP);
	want_err("/flag", MMDS_FORMAT_IMDS, -ENOTSUP);
	want_err("/list", MMDS_FORMAT_IMDS, -ENOTSUP);
	want_err("/nothing", MMDS_FORMAT_IMDS, -ENOTSUP);
}

Test(mmds_render, json_rendering)
{
	want("/latest/meta-data", MMDS_FORMAT_JSON,
	     "{\"ami-id\":\"ami-1\",\"network\":{\"x\":\"y\"},\"reservation-id\":\"r-1\"}");
	want("/latest/meta-data/ami-id", MMDS_FORMAT_JSON, "\"ami-1\"");
	want("/num", MMDS_FORMAT_JSON, "7");
	want("/flag", MMDS_FORMAT_JSON, "true");
	want("/nothing", MMDS_FORMAT_JSON, "null");
}

Test(mmds_render, root_is_the_whole_document)
{
	want("/", MMDS_FORMAT_IMDS, "a/b\nempty/\nflag\nlatest/\nlist\nnothing\nnum\nt~n");
	want("", MMDS_FORMAT_IMDS, "a/b\nempty/\nflag\nlatest/\nlist\nnothing\nnum\nt~n");
}

Test(mmds_render, repeated_slashes_collapse)
{
	want("//latest///meta-data//ami-id", MMDS_FORMAT_IMDS, "ami-1");
}

Test(mmds_render, pointer_escapes_and_arrays)
{
	want("/a~1b", MMDS_FORMAT_IMDS, "slash");
	want("/t~0n", MMDS_FORMAT_IMDS, "tilde");
	want("/list/0", MMDS_FORMAT_IMDS, "zero");
	want("/list/1/k", MMDS_FORMAT_IMDS, "v");
	want_err("/list/01", MMDS_FORMAT_IMDS, -ENOENT);
	want_err("/list/2", MMDS_FORMAT_IMDS, -ENOENT);
	want_err("/list/-1", MMDS_FORMAT_IMDS, -ENOENT);
	want_err("/a~2b", MMDS_FORMAT_IMDS, -ENOENT);
	want_err("/a~", MMDS_FORMAT_IMDS, -ENOENT);
}

Test(mmds_render, missing_paths)
{
	want_err("/latest/user-data", MMDS_FORMAT_JSON, -ENOENT);
	want_err("/latest/meta-data/ami-id/deeper", MMDS_FORMAT_JSON, -ENOENT);
	want_err("/num/0", MMDS_FORMAT_JSON, -ENOENT);
	cr_assert_null(mmds_lookup(NULL, "/", 1)); /* no document yet */
	char longkey[600];
	memset(longkey, 'k', sizeof(longkey) - 1);
	longkey[0] = '/';
	longkey[sizeof(longkey) - 1] = '\0';
	want_err(longkey, MMDS_FORMAT_JSON, -ENOENT);
}

Test(mmds_render, path_length_is_respected)
{
	const json_t *v = mmds_lookup(doc, "/latest/meta-data/ami-id", strlen("/latest"));
	cr_assert(json_is_object(v));
}
