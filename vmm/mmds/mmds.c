/* The shared MMDS instance. See mmds.h. */
#include "vmm/mmds/mmds.h"

#include <errno.h>

#include "vmm/mmds/mmds_render.h"

int mmds_init(struct mmds *m, size_t limit)
{
	mmds_store_init(&m->store, limit);
	mmds_tokens_init(&m->tokens);
	mmds_config_default(&m->cfg);
	m->configured = false;
	return -pthread_mutex_init(&m->lock, NULL);
}

void mmds_destroy(struct mmds *m)
{
	mmds_store_free(&m->store);
	pthread_mutex_destroy(&m->lock);
}

void mmds_set_limit(struct mmds *m, size_t limit)
{
	pthread_mutex_lock(&m->lock);
	m->store.limit = limit;
	pthread_mutex_unlock(&m->lock);
}

int mmds_put(struct mmds *m, const json_t *doc)
{
	pthread_mutex_lock(&m->lock);
	int err = mmds_store_put(&m->store, doc);
	pthread_mutex_unlock(&m->lock);
	return err;
}

int mmds_patch(struct mmds *m, const json_t *patch)
{
	pthread_mutex_lock(&m->lock);
	int err = mmds_store_patch(&m->store, patch);
	pthread_mutex_unlock(&m->lock);
	return err;
}

json_t *mmds_get(struct mmds *m)
{
	pthread_mutex_lock(&m->lock);
	json_t *doc = m->store.doc ? json_deep_copy(m->store.doc) : json_object();
	pthread_mutex_unlock(&m->lock);
	return doc;
}

void mmds_set_config(struct mmds *m, const struct mmds_config *c)
{
	pthread_mutex_lock(&m->lock);
	m->cfg = *c;
	m->configured = true;
	pthread_mutex_unlock(&m->lock);
}

bool mmds_get_config(struct mmds *m, struct mmds_config *c)
{
	pthread_mutex_lock(&m->lock);
	*c = m->cfg;
	bool set = m->configured;
	pthread_mutex_unlock(&m->lock);
	return set;
}

int mmds_guest_read(struct mmds *m, const char *path, size_t path_len, bool json, char **out,
		    size_t *len, bool *is_json)
{
	pthread_mutex_lock(&m->lock);
	const json_t *v = mmds_lookup(m->store.doc, path, path_len);
	*is_json = json && !m->cfg.imds_compat;
	int err =
	    v ? mmds_render(v, *is_json ? MMDS_FORMAT_JSON : MMDS_FORMAT_IMDS, out, len) : -ENOENT;
	pthread_mutex_unlock(&m->lock);
	return err;
}

enum mmds_version mmds_guest_version(struct mmds *m)
{
	pthread_mutex_lock(&m->lock);
	enum mmds_version v = m->cfg.version;
	pthread_mutex_unlock(&m->lock);
	return v;
}

int mmds_guest_new_token(struct mmds *m, uint32_t ttl_s, uint64_t now_ms,
			 const uint8_t rnd[MMDS_TOKEN_RAND_LEN], char out[MMDS_TOKEN_LEN + 1])
{
	pthread_mutex_lock(&m->lock);
	int err = mmds_token_issue(&m->tokens, ttl_s, now_ms, rnd, out);
	pthread_mutex_unlock(&m->lock);
	return err;
}

bool mmds_guest_token_ok(struct mmds *m, const char *tok, size_t len, uint64_t now_ms)
{
	pthread_mutex_lock(&m->lock);
	bool ok = mmds_token_valid(&m->tokens, tok, len, now_ms);
	pthread_mutex_unlock(&m->lock);
	return ok;
}
