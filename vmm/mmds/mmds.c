/* The shared MMDS instance. See mmds.h. */
#include "vmm/mmds/mmds.h"

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
