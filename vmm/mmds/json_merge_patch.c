/* JSON Merge Patch (RFC 7396). See json_merge_patch.h. */
#include "vmm/mmds/json_merge_patch.h"

/* RFC 7396 section 2, MergePatch(Target, Patch), in place: consumes the reference `target`
 * (NULL for none), returns a new one. The recursion is as deep as the patch, which the JSON
 * parser bounds. */
static json_t *merge(json_t *target, const json_t *patch)
{
	const char *key;
	json_t *val;

	if (!json_is_object(patch)) {
		json_decref(target);
		return json_deep_copy(patch);
	}
	if (!json_is_object(target)) {
		json_decref(target);
		target = json_object();
		if (!target)
			return NULL;
	}
	json_object_foreach((json_t *)patch, key, val)
	{
		if (json_is_null(val)) {
			json_object_del(target, key);
			continue;
		}
		json_t *merged = merge(json_incref(json_object_get(target, key)), val);
		if (!merged || json_object_set_new(target, key, merged)) {
			json_decref(target);
			return NULL;
		}
	}
	return target;
}

json_t *json_merge_patch(const json_t *target, const json_t *patch)
{
	return merge(target ? json_deep_copy(target) : NULL, patch);
}
