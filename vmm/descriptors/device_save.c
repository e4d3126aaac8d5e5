/* The table's saving, forking and moving hooks, walked (device_save.h). */
#include "vmm/descriptors/device_save.h"

#include <errno.h>
#include <stdio.h>

/* Device table entry i's hooks, or NULL. */
static const struct device_save *save_of(int i)
{
	return device_table[i]->save;
}

/* The first device with a host_fds() hook, or NULL. */
static const struct device_save *fd_owner(void)
{
	for (int i = 0; device_table[i]; i++)
		if (save_of(i) && save_of(i)->host_fds)
			return save_of(i);
	return NULL;
}

/* The hooks of the device whose API section is `section`, or NULL. */
static const struct device_save *section_save(const char *section)
{
	const struct device_desc *d = device_table_section(section);
	return d ? d->save : NULL;
}

int device_save_uncarried(struct vm *vm, const char *what, char *err, size_t errlen)
{
	for (int i = 0; device_table[i]; i++) {
		const struct device_save *s = save_of(i);
		int r = s && s->uncarried ? s->uncarried(vm, what, err, errlen) : 0;
		if (r)
			return r;
	}
	return 0;
}

uint64_t device_save_mem_beyond(const struct vm_config *cfg)
{
	uint64_t bytes = 0;
	for (int i = 0; device_table[i]; i++)
		if (save_of(i) && save_of(i)->mem_beyond)
			bytes += save_of(i)->mem_beyond(cfg);
	return bytes;
}

bool device_save_restored_first(const struct virtio_dev *dev)
{
	for (int i = 0; device_table[i]; i++)
		if (save_of(i) && save_of(i)->restored_first && save_of(i)->restored_first(dev))
			return true;
	return false;
}

int device_save_option_id(const char *option, const char *arg, char *id, size_t len)
{
	const struct device_desc *d = device_table_option_owner(option, arg);
	if (!d || !d->save || !d->save->option_id)
		return -ENOENT;
	return d->save->option_id(arg, id, len);
}

int device_save_new_generation(struct vm *vm)
{
	for (int i = 0; device_table[i]; i++) {
		const struct device_save *s = save_of(i);
		int r = s && s->new_generation ? s->new_generation(vm) : 0;
		if (r)
			return r;
	}
	return 0;
}

int device_save_api_ids(const struct vm_config *cfg, const char *section, char (*ids)[64], int max)
{
	const struct device_desc *d = device_table_section(section);
	if (!d || !d->save || !d->save->api_id || !d->record_count)
		return 0;
	int n = d->record_count(cfg);
	if (n > max)
		return -E2BIG;
	for (int i = 0; i < n; i++)
		d->save->api_id(cfg, i, ids[i], sizeof(ids[i]));
	return n;
}

int device_save_fork_move(struct vm *vm, const char *section, int i, const char *path, char *why,
			  size_t len)
{
	const struct device_save *s = section_save(section);
	if (s && s->fork_move)
		return s->fork_move(vm, i, path, why, len);
	snprintf(why, len, "no such device");
	return -ENODEV;
}

int device_save_fork_return(struct vm *vm, const char *section, int i, const char *path)
{
	const struct device_save *s = section_save(section);
	return s && s->fork_return ? s->fork_return(vm, i, path) : -ENODEV;
}

int device_save_hand_over(struct vm *vm, char *err, size_t errlen)
{
	for (int i = 0; device_table[i]; i++) {
		const struct device_save *s = save_of(i);
		int r = s && s->hand_over ? s->hand_over(vm, err, errlen) : 0;
		if (!r)
			continue;
		while (i-- > 0) /* theirs, taken back */
			if (save_of(i) && save_of(i)->take_back)
				save_of(i)->take_back(vm);
		return r;
	}
	return 0;
}

int device_save_take_back(struct vm *vm)
{
	int ret = 0;
	for (int i = 0; device_table[i]; i++) {
		const struct device_save *s = save_of(i);
		int r = s && s->take_back ? s->take_back(vm) : 0;
		ret = ret ? ret : r;
	}
	return ret;
}

int device_save_host_fds(struct vm *vm, int *fds, int max)
{
	const struct device_save *s = fd_owner();
	return s ? s->host_fds(vm, fds, max) : 0;
}

int device_save_remote_check(const struct vm_config *cfg, char *err, size_t errlen)
{
	for (int i = 0; device_table[i]; i++) {
		const struct device_save *s = save_of(i);
		int r = s && s->remote_check ? s->remote_check(cfg, err, errlen) : 0;
		if (r)
			return r;
	}
	return 0;
}

void device_save_open_unlocked(struct vm_config *cfg)
{
	for (int i = 0; device_table[i]; i++)
		if (save_of(i) && save_of(i)->open_unlocked)
			save_of(i)->open_unlocked(cfg);
}

int device_save_take_locks(struct vm *vm)
{
	for (int i = 0; device_table[i]; i++) {
		const struct device_save *s = save_of(i);
		int r = s && s->take_locks ? s->take_locks(vm) : 0;
		if (r)
			return r;
	}
	return 0;
}

void device_save_release_locks(struct vm *vm)
{
	for (int i = 0; device_table[i]; i++)
		if (save_of(i) && save_of(i)->release_locks)
			save_of(i)->release_locks(vm);
}

int device_save_use_fd(struct vm_config *cfg, int i, int fd, char *err, size_t errlen)
{
	const struct device_save *s = fd_owner();
	if (s && s->use_fd)
		return s->use_fd(cfg, i, fd, err, errlen);
	snprintf(err, errlen, "the source handed over an fd for instance %d, which no device takes",
		 i);
	return -EINVAL;
}

bool device_save_took_fd(struct vm *vm, int i)
{
	const struct device_save *s = fd_owner();
	return s && s->took_fd && s->took_fd(vm, i);
}
