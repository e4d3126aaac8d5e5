/* MMDS in a snapshot. See mmds_state.h. */
#include "vmm/mmds/mmds_state.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

json_t *mmds_state_save(struct mmds *m)
{
	struct mmds_config c;
	bool configured = mmds_get_config(m, &c);
	json_t *cfg = configured ? mmds_config_json(&c) : json_null();

	pthread_mutex_lock(&m->lock);
	json_t *doc = m->store.doc ? json_deep_copy(m->store.doc) : json_null();
	pthread_mutex_unlock(&m->lock);
	if (!cfg || !doc) {
		json_decref(cfg);
		json_decref(doc);
		return NULL;
	}
	return json_pack("{s:o, s:o}", "config", cfg, "store", doc);
}

int mmds_state_check(struct mmds *m, const json_t *state, struct mmds_config *cfg, bool *has_cfg,
		     char *err, size_t errlen)
{
	pthread_mutex_lock(&m->lock);
	size_t limit = m->store.limit;
	pthread_mutex_unlock(&m->lock);
	const json_t *c = json_object_get(state, "config");
	const json_t *doc = json_object_get(state, "store");
	char why[200];

	*has_cfg = false;
	if (!json_is_object(state) || json_object_size(state) != 2 || !c || !doc) {
		snprintf(err, errlen, "snapshot MMDS state: want {\"config\", \"store\"}");
		return -EINVAL;
	}
	if (!json_is_null(c)) {
		if (mmds_config_parse(c, cfg, why, sizeof(why))) {
			snprintf(err, errlen, "snapshot MMDS configuration: %s", why);
			return -EINVAL;
		}
		*has_cfg = true;
	}
	if (!json_is_null(doc) && mmds_json_size(doc) > limit) {
		snprintf(err, errlen,
			 "the snapshot's MMDS document (%zu bytes) is over this VMM's limit of %zu "
			 "bytes (--mmds-size-limit)",
			 mmds_json_size(doc), limit);
		return -EINVAL;
	}
	return 0;
}

int mmds_state_load(struct mmds *m, const json_t *state, char *err, size_t errlen)
{
	struct mmds_config c;
	bool has_cfg;
	const json_t *doc = json_object_get(state, "store");

	int r = mmds_state_check(m, state, &c, &has_cfg, err, errlen);
	if (r)
		return r;
	json_t *copy = json_is_null(doc) ? NULL : json_deep_copy(doc);
	if (!json_is_null(doc) && !copy) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_lock(&m->lock);
	json_decref(m->store.doc);
	m->store.doc = copy;
	if (has_cfg)
		m->cfg = c;
	else
		mmds_config_default(&m->cfg);
	m->configured = has_cfg;
	mmds_tokens_init(&m->tokens);
	pthread_mutex_unlock(&m->lock);
	return 0;
}
