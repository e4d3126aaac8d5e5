/* The optional devices, each declared once (Solo5 hvt's module table) with every hook it needs:
 *  - the command line: its options with their usage text and parser (vmm/cli/cli.c builds
 *    the option list and --help from the table);
 *  - the VM: check, create, start, terminal_resized, destroy (vmm/descriptors/device_vm.c
 *    walks the table for the VM, which never names it);
 *  - the config file and the HTTP API (struct device_api): a section name and a PUT route that
 *    vmm/api looks up in the table (it names no device), a body check that yields the document
 *    GET /vm/config shows, the record that document stands for (to_items), and the document of a
 *    command line's (or a snapshot's) configuration;
 *  - what it claims (vhost-user sockets, shared or private guest RAM, the root device, ids the
 *    API shares across descriptors, host paths): "Claims" below. No descriptor names another:
 *    device_claims.c checks the claims against each other;
 *  - the items of its record that name host paths, with their kinds: "Path fields" below,
 *    which a restore checks (vmm/snapshot/restore_paths.h);
 *  - the snapshot: every device, from the command line, the config file, the API or a hotplug,
 *    is its configuration block, added from its record's items by record_add (the checks its
 *    option has); a snapshot saves the blocks as records and a load adds them again the same way
 *    (vmm/descriptors/device_record.h, vmm/snapshot/vm_snapshot.c); the device's state is the
 *    device model's own (vm_snapshot_devices.c).
 *
 * Adding a virtio device: write its descriptor in vmm/descriptors/dev_<name>.c (options, its
 * record hooks with the parser going through device_record_parse() (device_record.h), the
 * path fields of its record when it names host paths (device_desc.paths),
 * create, a configuration block kept with device_cfg(), a run-time block kept with
 * device_state() when the rest of the VMM reaches its devices while the VM runs, a struct
 * device_api when the config file and the API should know it, and a struct device_hotplug when
 * it is added to or removed from a running VM), declared in
 * vmm/descriptors/dev_<name>.h for its tests and its accessors, and add
 * its line to device_table[] in vmm/descriptors/device_table.c. vmm/descriptors/dev_rng.c is the
 * model of a command-line device, vmm/descriptors/dev_fs.c of one the config file and API know too;
 * nothing else changes (the device model itself lives in virtio/). The table's order is the
 * order the guest sees the devices in (disks first, so the first --disk is /dev/vda; then NICs,
 * console, rng, display, vsock, balloon...), and the order an API configuration's devices are
 * added in.
 *
 * On these hooks: disks and NICs (Firecracker's /drives and /network-interfaces, the "core"
 * sections: vmm/descriptors/dev_disk_api.c, dev_net_api.c), vsock, balloon, fs, memory hotplug,
 * pmem and rng (rng's PUT being Firecracker's /entropy). A PATCH on a device's {id} route (drives,
 * NICs, pmem) is the router's one handler (vmm/api/api_routes_patch.c) over the descriptor's
 * PATCH hooks (device_api_ext.patch: the body, the changes, the model's document); the live
 * GET/PATCH routes of the balloon and of /hotplug/memory are the router's too
 * (vmm/api/api_routes_devices.c, the body checked by device_live.check); what they change
 * on the running VM goes through the device's struct device_live (device_api.live): the
 * backend (vmm/api/control_live.c) picks the instance, the descriptor changes its device model
 * and its configuration block (vmm/descriptors/dev_live.h). One root
 * device at most across them all (device_api.root_field: a drive's is_root_device, pmem's
 * root_device), named on the kernel command line by its root_arg (a drive's root=). The
 * console's is Firecracker's PUT /serial (vmm/descriptors/api_serial.c).
 * Metrics: every virtio device's entry has the framework's counters; a device model adds its
 * own through virtio_dev_ops.counters (vhost-user's calls_relayed), read by metrics.c.
 *
 * Error convention (base/errors.h): parsers fill `err` and return -errno, never log; the CLI
 * prints "vmm: --OPTION ARG: <err>" once. create() functions log what failed (they are at the
 * edge, they know the file or tap) and return -errno; the errno class picks the exit status. */
#ifndef VMM_DEVICE_TABLE_H
#define VMM_DEVICE_TABLE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/options.h"
#include "vmm/config/vm_config.h"

struct vm;
struct virtio_dev;
struct device_claim;
struct egress_rules;
struct sandbox_list;
struct vm_hotplug_devices;
struct vm_hotplug_kind;
typedef int (*device_claim_fn)(const struct device_claim *claim, void *opaque);

/* One long option of a device. */
struct device_option {
	const char *name;  /* without "--" */
	int has_arg;	   /* getopt's no_argument, required_argument or optional_argument */
	const char *usage; /* the option's --help lines, each ending in "\n" */
	/* Parses one occurrence into `cfg` (cfg->transport is the transport in effect). Returns
	 * 0, or -errno with a message in `err` (what follows "--OPTION ARG: "). */
	int (*parse)(struct vm_config *cfg, const char *arg, char *err, size_t errlen);
};

/* ---- Claims: what a configured device takes that another device, or the VM, must know of. The
 * descriptors never name each other: each says what it claims, and device_claims.c finds the
 * conflicts (device_table_claims_check()) and answers the questions (device_table_claim_find(),
 * device_table_shares_memory()); a restore checks the host paths through the path fields
 * ("Path fields" below) and refuses pinned RAM (vmm/snapshot/restore_paths.h). */
enum device_claim_kind {
	/* A host file, socket or tap the device opens (value: its path or name): what its path
	 * fields name (a restore checks those; a fork's request reads these), the same list
	 * (tests/unit/vmm/descriptors/test_device_paths.c). */
	DEVICE_CLAIM_PATH,
	/* A vhost-user back-end's socket (value), a host path too: a back-end connection serves
	 * one device, so no two claims may name the same socket. */
	DEVICE_CLAIM_SOCKET,
	/* Guest RAM handed to another process (a vhost-user back-end): RAM becomes one shared
	 * memfd (guest_mem_alloc_shared()), as with --mem-shared. */
	DEVICE_CLAIM_SHARED_RAM,
	/* Guest memory outside that memfd (hotplugged memory), which a SHARED_RAM device cannot
	 * reach: the two are refused together. `what` says why. */
	DEVICE_CLAIM_PRIVATE_RAM,
	/* The guest's root file system (value: the file): one root device at most. */
	DEVICE_CLAIM_ROOT,
	/* An id (value) in the API's name space `space` ("drive", "iface"), which devices of
	 * several descriptors share: the API finds a device by its id. */
	DEVICE_CLAIM_ID,
	/* Guest-physical addresses [base, base + size) above the RAM (the hotplug region): what is
	 * placed above the RAM goes after it. */
	DEVICE_CLAIM_GUEST_RANGE,
	/* Guest RAM pinned for a passed-through device's DMA (--device vfio=, boot or hot-added):
	 * the VM's state cannot be saved or moved (the device's is not ours). Memory that comes
	 * and goes is kept in step by vmm/vm/vm_vfio.c (virtio-mem's blocks mapped as plugged,
	 * the balloon's pages kept). */
	DEVICE_CLAIM_PINNED_RAM,
	/* Guest RAM the guest gives back to the host while it runs (the balloon). */
	DEVICE_CLAIM_RAM_RETURNED,
};

/* What a device does with a claimed path (bits). */
enum {
	DEVICE_PATH_READ = 1u,	 /* reads it */
	DEVICE_PATH_WRITE = 2u,	 /* writes it (or connects to a socket there) */
	DEVICE_PATH_CREATE = 4u, /* creates or replaces it (a file, a listening socket) */
};

struct device_claim {
	enum device_claim_kind kind;
	/* How the user gave it, for messages: "--disk vhost-user", "--fs", "disk", "pmem". */
	const char *option;
	const char *value; /* the path, socket, tap or id; NULL for the RAM claims */
	/* PATH and SOCKET: what it is ("disk", "tap", "vhost-user NIC socket"); ID: who holds it
	 * ("a vhost-user disk"); PRIVATE_RAM: why. */
	const char *what;
	const char *space; /* ID: the name space ("drive", "iface") */
	/* PATH, SOCKET: the device's name where it has one, else "" (it may live only while fn()
	 * runs: a default name made up for the call). */
	const char *id;
	const char *hint;    /* PATH, SOCKET: how an operator allows it on a restore, or NULL */
	unsigned access;     /* PATH, SOCKET: DEVICE_PATH_* bits; 0 for a tap */
	bool tap;	     /* PATH: value is a tap's name */
	uint64_t base, size; /* GUEST_RANGE */
};

/* Runs each device's claims hook in table order; stops at fn()'s first non-zero value. */
int device_table_claims(const struct vm_config *cfg, device_claim_fn fn, void *opaque);
/* The first claim of `kind` whose value is `value` (any value when NULL) in *out; false: none.
 * Claims with an empty value match no value. */
bool device_table_claim_find(const struct vm_config *cfg, enum device_claim_kind kind,
			     const char *value, struct device_claim *out);
/* The first DEVICE_CLAIM_ID of `id` in name space `space` in *out (out may be NULL); false:
 * none ("" is never taken). */
bool device_table_id_claimed(const struct vm_config *cfg, const char *space, const char *id,
			     struct device_claim *out);
/* The conflicts between the devices' claims, before any device's own check: one root device,
 * one device per vhost-user socket (another spelling of the same file too), no shared RAM
 * beside private memory. Returns 0 or -EINVAL (logged). */
int device_table_claims_check(const struct vm_config *cfg);

struct mmds_config;
struct rate_limiter_patch;
struct rate_limiter_cfg;

/* One change the API makes to a running device (a PATCH's member), in the API's terms. */
struct device_live_set {
	const char *member; /* "path_on_host", "rate_limiter", "amount_mib", ... */
	uint64_t num;	    /* a number's value (MiB, seconds) */
	const char *str;    /* a string's value (a host path) */
	/* A rate limiter's patch (the buckets it names change): [0] a drive's, or a NIC's rx and
	 * [1] its tx (a patch naming nothing leaves that direction). */
	const struct rate_limiter_patch *rl[2];
	struct rate_limiter_cfg *rl_now[2]; /* out: the limits in force after the change */
	/* A NIC's new egress policy ("egress": off for none), or NULL: unchanged. */
	const struct egress_rules *egress;
};

/* What a PCI hot-add asks of a device besides its record (vmm/api/control_hotplug.c). */
struct device_hot_add {
	const char *id; /* the device's API id (its record has it as id= too) */
	uint64_t size;	/* a pmem body's "size" (the file must have it), or 0 */
	int *slot;	/* a kind that plugs itself (a passed-through function): its slot */
	uint64_t gpa;	/* out: a pmem device's window */
};

/* PCI hotplug of a device kind while the VM runs (docs/hotplug.md): what the API's backend
 * (vmm/api/control_hotplug.c) asks of it to add an instance, remove one, or keep a boot
 * instance in its slot when an earlier one goes. Hooks a kind has no use for are NULL. */
struct device_hotplug {
	/* The kind of its entries in the VM's slot table (vmm/vm/hotplug.h): the device's own
	 * object, whose address the VM compares; kind->kept iff kept_slot below. */
	const struct vm_hotplug_kind *kind;
	const char *stem; /* Cloud Hypervisor's name of one added without an id: _<stem><N> */
	const char *what; /* in messages: "a disk" */
	/* The API section that lists its instances (GET /vm/config), whose documents a hotplug
	 * adds and removes, when not the descriptor's own (NULL): a vhost-user disk's "drives". */
	const struct device_api *model;
	/* Its record keeps no slot: such a device is never restored (a VM with it is not saved). */
	bool slotless;
	/* The item a hot-added instance's record keeps its window's guest address in (create()'s
	 * x->gpa: a restore could not find it again), or NULL: it has none. */
	const char *window_item;
	/* Room in `cfg` for one more instance: 0, or -ENOSPC with the reason in err. NULL: a kind
	 * that is never added (a kept boot device: rng, balloon, console). */
	int (*room)(const struct vm_config *cfg, char *err, size_t errlen);
	/* On the hotplug thread: the device of record `rec` (with its id=) built, opened and
	 * initialised into *dev, not started; a kind that plugs itself plugs it into *x->slot and
	 * leaves *dev NULL. 0 or -errno with the reason in err (nothing kept). */
	int (*create)(struct vm *vm, const struct opt_items *rec, struct device_hot_add *x,
		      struct virtio_dev **dev, char *err, size_t errlen);
	/* On the hotplug thread, once the guest released instance `id` and its device stopped:
	 * what create() took besides the device (a pmem window). NULL: nothing. */
	void (*released)(struct vm *vm, const char *id);
	/* The instance whose API id is `id` (its id=, or the name the API gives one without, as
	 * drive<N>), or -1. */
	int (*find)(const struct vm_config *cfg, const char *id);
	/* Whether instance i is the guest's root, which is never removed. NULL: never. */
	bool (*is_root)(const struct vm_config *cfg, int i);
	/* Instance i's transport. */
	enum virtio_transport (*transport)(const struct vm_config *cfg, int i);
	/* Why boot instance i cannot keep its slot as a hotplug-slot= one, or NULL: it can. NULL
	 * hook: it always can. */
	const char *(*cannot_pin)(const struct vm_config *cfg, int i);
	/* An instance after i on virtio-mmio that a removal of i would rename (its API name counts
	 * the instances: drive<N>): true with its id in `id`. NULL: none is ever renamed. */
	bool (*renamed_after)(const struct vm_config *cfg, int i, char *id, size_t len);
	/* Boot instance i keeps `slot` from now on: its block gets its slot and id (and a pmem
	 * window its address). 0 or -errno. */
	int (*pin)(struct vm_config *cfg, struct vm *vm, int i, int slot);
	/* Instance `id` goes from the configuration (its block). */
	void (*forget)(struct vm_config *cfg, const char *id);
	/* A kept kind's (never removed: rng, balloon, console) hotplug_slot in its block, or
	 * NULL: not configured. NULL hook: not a kept kind. */
	int *(*kept_slot)(struct vm_config *cfg);
	/* The seccomp list of what building, starting and stopping an instance takes beyond the
	 * virtio framework's, its I/O threads' included (virtio-blk's, a tap's, vhost-user's),
	 * which the hotplug thread must allow (vmm/vm/hotplug_worker.c), or NULL: none. */
	const struct sandbox_list *sandbox;
};

/* What the API reads and changes on a running device (its live GET and PATCH routes): the
 * API's backend (vmm/api/control_live.c) finds the descriptor and the instance, the descriptor
 * reaches its device model and keeps the configuration a snapshot saves in step with it (its
 * block, which a snapshot saves as its record), so a restored VM is the VM as it was. */
struct device_live {
	/* A PATCH body on the device's live route into *set: `view` is "" for the device's own
	 * route, or the part of the route past it ("statistics" for /balloon/statistics). Returns
	 * 0 or -EINVAL with the client's message in err. NULL: the device's PATCH hooks check it
	 * (device_api_ext.patch: a drive's, a NIC's, pmem's, which name their ids). */
	int (*check)(const char *view, const json_t *body, struct device_live_set *set, char *err,
		     size_t errlen);
	/* The running device's document for `view` (GET /balloon, /balloon/statistics,
	 * /hotplug/memory) into *doc (a new reference). Returns 0, -ENODEV (the VM has no such
	 * device), -ENODATA (the view is off: statistics without an interval) or -ENOMEM. NULL:
	 * no live document. */
	int (*get)(struct vm *vm, const char *view, json_t **doc);
	/* Applies `set` to instance `index` of the device (the disks' or NICs' order, 0 for a
	 * device without ids) and records it in `cfg`, the VM's configuration. Returns 0, or
	 * -ENODEV / -errno with the client's message in err. */
	int (*set)(struct vm *vm, struct vm_config *cfg, int index, struct device_live_set *set,
		   char *err, size_t errlen);
	/* The change goes into the configuration a snapshot saves: refused while a migration
	 * from here runs, whose destination built the VM from the configuration it began with. */
	bool recorded;
	/* A change of this member names a host file the device opens: it runs where files may be
	 * opened (the sandbox's broker). NULL: none does. */
	const char *opens_file;
};

#define DEVICE_ROOT_ARG_MAX 128 /* device_api.root_arg's longest entry, NUL included */

/* What an API body may depend on besides itself: the machine as the model has it so far. */
struct device_api_ctx {
	unsigned mem_mib;
	/* This device's documents in the model (borrowed; an array for a device with an {id}),
	 * or NULL: none yet (a limit on their number, a replaced id). */
	const json_t *docs;
	/* Another document that makes its device the guest's root (root_field), this device's
	 * document with the same id left out: its device and its id (the section for a device
	 * without ids); NULL, NULL: none. */
	const struct device_desc *root_dev;
	const char *root_id;
	/* PUT /mmds/config as the model has it (it names NIC ids), or NULL. */
	const struct mmds_config *mmds;
};

/* How the config file and the HTTP API describe a device (Firecracker's or Cloud Hypervisor's
 * bodies). A body is accepted before InstanceStart only; at InstanceStart each accepted
 * document becomes its record's items (to_items), added by record_add as the command line's
 * option would be. A failed start puts the device's configuration block back as it was
 * from a copy (device_cfg_save()): a block that owns heap memory (a disk's path) copies and
 * frees it with its descriptor's cfg_copy and cfg_free. */
struct device_api {
	const char *section; /* the config file's member and GET /vm/config's ("vsock", "fs") */
	const char *route;   /* the PUT path; ending in '/' it takes an {id} ("/fs/") */
	/* With an {id}: the section is an array of bodies, each naming its id in this member
	 * (the path's {id} must match it when the body has it). NULL: one object. */
	const char *id_field;
	/* Without id_field: the section is an array all the same, and each PUT adds one more
	 * document to it (Cloud Hypervisor's vm.add-device before boot); a document the option
	 * parser refuses beside the others (a device given twice) is refused, none replaced. */
	bool each_put_adds;
	/* The boolean member of a document that makes the device the guest's root file system
	 * ("root_device"), which one device at most may be (a root drive included); NULL: the
	 * device cannot be the root. */
	const char *root_field;
	/* What a PUT making another device the root is told while this device's document is the
	 * root ("A root block device is already configured."); NULL: "A root device is already
	 * configured: ID". */
	const char *root_taken;
	/* One of Firecracker's own sections ("drives", "network-interfaces"): a config file
	 * applies it with the model's sections, before "mmds-config" (which names their ids), and
	 * GET /vm/config always shows it, right after "machine-config" ([] when empty). A PUT's
	 * trial parses the other core sections' documents too, in table order (their parsers
	 * share rules: one vhost-user socket per device, disks and NICs alike), and quotes a
	 * document it refuses as its option ("--disk ARG: reason", -EINVAL) rather than naming it
	 * by its id ("ID: reason", the parser's -errno). */
	bool core;
	/* Checks a body; `id` is the path's {id}, or NULL (one object, or a config file's element
	 * without id_field). Sets *doc (a new reference) to what GET /vm/config shows for it,
	 * holding id_field with the id it has. Returns 0, or -EINVAL / -ENOMEM with the message
	 * for the client in err. */
	int (*check)(const json_t *body, const char *id, const struct device_api_ctx *ctx,
		     json_t **doc, char *err, size_t errlen);
	/* The record an accepted document stands for: its items, which the owner's record_add
	 * reads as it reads the option's (a value may hold any text, commas included), into *out
	 * (empty on entry; the caller frees it), and the descriptor whose record they are into
	 * *owner (this one on entry; a drive with a "socket" is vhost-user-blk's). Returns 0 or
	 * -ENOMEM. */
	int (*to_items)(const json_t *doc, struct opt_items *out, const struct device_desc **owner);
	/* The section a configuration (command line, snapshot) gives the device in GET /vm/config
	 * (new reference), or NULL when the device is not configured. */
	json_t *(*describe)(const struct vm_config *cfg);
	/* The kernel command line's entry that makes the root document among `docs` (the
	 * section's value) the guest's root ("root=/dev/vdb rw", "root=PARTUUID=... ro"), `cfg`
	 * being the configuration the documents are added to (its own devices come first). Returns
	 * 0 ("" in arg when no document is the root) or -ENAMETOOLONG. With this hook, the root
	 * document is applied before the others at InstanceStart (the root drive is /dev/vda).
	 * NULL hook: the device's option names the root itself (pmem's). */
	int (*root_arg)(const json_t *docs, const struct vm_config *cfg, char *arg, size_t len);
	/* The host file an accepted document names and whether it is opened read-only, which PUT
	 * opens and checks as the device will (Firecracker opens a drive's file at PUT), or NULL
	 * (none, or nothing to open yet: a vhost-user socket). NULL hook: nothing to open. */
	const char *(*host_file)(const json_t *doc, bool *ro);
	/* What the API changes while the VM runs; NULL: nothing. */
	const struct device_live *live;
	/* ---- The API's further hooks (issue 65: vmm/api names no device): Cloud Hypervisor's
	 * add route and body, Firecracker's hot-add, the checks at PUT, the live instance
	 * (vmm/descriptors/device_api_ext.h). NULL: none of them. */
	const struct device_api_ext *ext;
};

/* A device's path fields (vmm/descriptors/device_paths.h) and its saving, forking and moving
 * hooks (vmm/descriptors/device_save.h): the descriptor holds pointers to them. */
struct device_paths;
struct device_save;

struct device_desc {
	const char *name;
	const struct device_option *options; /* ends with a {NULL} entry */
	/* For options two descriptors share (--disk PATH, and --disk vhost-user=PATH which
	 * dev_vhost_user.c parses): true when this descriptor's entry takes `arg`. Of the entries
	 * of one name, those of descriptors with takes() are asked first, in table order; the one
	 * without takes the rest. --help prints their usage together, at the first one's place.
	 * NULL: its options take every argument. */
	bool (*takes)(const char *arg);
	/* Checks what the options name on the host (files opened in the mode the device will
	 * use, locks, taps, directories), before the VM and KVM exist, so each problem of the
	 * user's gets its own message even where KVM is unusable. Returns 0 or -errno (logged).
	 * NULL: nothing to check. */
	int (*check)(const struct vm_config *cfg);
	/* Creates every instance `vm->cfg` asks for and places each with vm_virtio_place().
	 * Returns 0 or -errno (logged). NULL: nothing to create (option-only entry). */
	int (*create)(struct vm *vm);
	/* Once the virtio devices run, before the vCPUs (e.g. opens a window). 0 or -errno.
	 * NULL: nothing to do. */
	int (*start)(struct vm *vm);
	/* The host terminal changed size (SIGWINCH), on the main thread while the VM runs: pass it
	 * on without blocking and without taking a device lock (e.g. wake the device's I/O
	 * thread). NULL: the device does not care. */
	void (*terminal_resized)(struct vm *vm);
	/* Frees what create() made besides the virtio devices (the transports own and destroy
	 * those first). Runs in reverse table order, also after a failed create. NULL: nothing. */
	void (*destroy)(struct vm *vm);
	/* Size of the device's own configuration block (device_cfg()); 0: it has none. */
	size_t cfg_size;
	/* For a block that owns heap memory (a disk's path): cfg_copy() makes `dst`, a byte copy
	 * of `src`, own copies of that memory, returning 0, or -ENOMEM with what it could not copy
	 * NULL in `dst` (cfg_free() frees the rest); cfg_free() frees what `block` owns, not the
	 * block (cli_free(), device_cfg_restore()). NULL: the block owns no heap memory, a byte
	 * copy is a copy. */
	int (*cfg_copy)(void *dst, const void *src);
	void (*cfg_free)(void *block);
	/* Size of the device's run-time block (device_state()): what create() made that the rest
	 * of the VMM reaches while the VM runs (the devices the API changes, the disks migration
	 * hands over). Freed with the VM, after destroy(). 0: none. */
	size_t state_size;
	/* Calls fn() for each of the device's claims in `cfg` (struct device_claim, above), in the
	 * order of its instances; stops at and returns fn()'s first non-zero value, else 0.
	 * NULL: the device claims nothing. */
	int (*claims)(const struct vm_config *cfg, device_claim_fn fn, void *opaque);
	/* A live migration's destination may build the device while its source still runs its
	 * twin: it takes no host resource the source holds (a tap, a listening socket, a window),
	 * or takes it only once handed over (a disk's flock: virtio_blk_opts.unlocked). When every
	 * configured device has it, the destination builds the VM during the pre-copy
	 * (vmm/migration/vm_migrate_recv.c); else only after the source has paused. */
	bool built_beside_source;
	/* The config file and API hooks; NULL: the device is known to the command line only. */
	const struct device_api *api;
	/* PCI hotplug's hooks; NULL: the device is neither added nor removed while the VM runs. */
	const struct device_hotplug *hotplug;
	/* Saving, forking and moving a VM (struct device_save); NULL: nothing of its own. */
	const struct device_save *save;
	/* ---- The record (vmm/descriptors/device_record.h): each instance as the items of its
	 * first option (base/options.h), the one form its option string, a JSON record and a
	 * snapshot share. A device without these hooks has no record yet (issue 65, under way).
	 */
	/* The item the option's first element is, whatever it holds ("path": --disk PATH,ro), or
	 * NULL: every element is key=value or a flag. */
	const char *record_head;
	/* The instances `cfg` has (0: the device is not configured). */
	int (*record_count)(const struct vm_config *cfg);
	/* Instance `i` as items into *out (empty on entry; the caller frees it) and its transport
	 * into *t, such that record_add() of them makes the same instance. 0 or -ENOMEM. */
	int (*record_items)(const struct vm_config *cfg, int i, struct opt_items *out,
			    enum virtio_transport *t);
	/* Adds one instance from items, with every check of the option (cfg->transport is the
	 * instance's transport). 0, or -errno with the reason in err (what follows "--OPTION
	 * ARG: "). */
	int (*record_add)(struct vm_config *cfg, const struct opt_items *items, char *err,
			  size_t errlen);
	/* ---- Path fields (above): the record's items that name host resources; NULL: it names
	 * none. */
	const struct device_paths *paths;
};

/* The table, in the order the devices are created; NULL-terminated. */
extern const struct device_desc *const *const device_table;

/* The device whose hotplug entries are of `kind` (its device_hotplug.kind), or NULL. */
const struct device_desc *device_table_hotplug_kind(const struct vm_hotplug_kind *kind);

/* What PCI hotplug's thread needs of the kinds it may add, so that vmm/vm names none either
 * (struct vm_hotplug_devices, vmm/vm/hotplug.h): their seccomp lists (device_hotplug.sandbox).
 */
extern const struct vm_hotplug_devices device_table_hotplug_devices;

/* device_table_claims_check(), then every device's check() in table order; the first failure's
 * -errno, else 0. */
int device_table_check(const struct vm_config *cfg);

/* The option entry that parses `arg` for --`name` (device_desc.takes), or NULL: no such
 * option. */
const struct device_option *device_table_option(const char *name, const char *arg);

/* The device whose option entry parses `arg` for --`name` (as device_table_option()), or NULL.
 */
const struct device_desc *device_table_option_owner(const char *name, const char *arg);

/* True when a configured device claims DEVICE_CLAIM_SHARED_RAM. */
bool device_table_shares_memory(const struct vm_config *cfg);
/* True when a configured device claims DEVICE_CLAIM_PINNED_RAM (a passed-through device). */
bool device_table_passes_through(const struct vm_config *cfg);
/* The reason a VM with a passed-through device (DEVICE_CLAIM_PINNED_RAM) cannot be saved,
 * forked or moved, or NULL when it has none: the device's state lives in the hardware, out of the
 * VMM's reach, and its DMA maps pin the RAM of this process. */
const char *device_table_unsaveable(const struct vm_config *cfg);
/* True when every configured device has built_beside_source. */
bool device_table_built_beside_source(const struct vm_config *cfg);

/* The configuration block of device `d` in `cfg` (d->cfg_size bytes), allocated zeroed on first
 * use: for parsers. NULL when out of memory. */
void *device_cfg(struct vm_config *cfg, const struct device_desc *d);
/* The block if the device's option was given, else NULL: for create(). */
const void *device_cfg_find(const struct vm_config *cfg, const struct device_desc *d);
/* Frees every block (cli_free()). */
void device_cfg_free_all(struct vm_config *cfg);

/* The run-time block of device `d` in `vm` (d->state_size bytes), allocated zeroed on first
 * use: for create(). NULL when out of memory or the device has none. */
void *device_state(struct vm *vm, const struct device_desc *d);
/* The block if create() made one, else NULL: for the device's accessors. */
void *device_state_find(const struct vm *vm, const struct device_desc *d);
/* Frees every run-time block (vm_destroy(), after the destroy() hooks). */
void device_state_free_all(struct vm *vm);

/* The device whose API route `path` is ("/vsock", "/fs/ID"), with *id set to the path's {id}
 * (inside `path`; NULL for a route without one); NULL when no device has that route. */
const struct device_desc *device_table_route(const char *path, const char **id);
/* The device whose config file section is `section`, or NULL. */
const struct device_desc *device_table_section(const char *section);

/* The configuration blocks of the API devices as they were, to put back after a failed start
 * (the API's devices were added, then something failed). */
struct device_cfg_saved {
	void *block[VM_MAX_DEVICE_KINDS];
	bool had[VM_MAX_DEVICE_KINDS];
};
/* Copies the blocks of every device with `api` hooks, or whose instances another's section lists
 * (device_hotplug.model). Returns 0 or -ENOMEM (nothing kept). */
int device_cfg_save(const struct vm_config *cfg, struct device_cfg_saved *s);
/* Puts the copies back (a block that did not exist is freed) and frees them. */
void device_cfg_restore(struct vm_config *cfg, struct device_cfg_saved *s);
/* Frees the copies without putting them back (the start went through). */
void device_cfg_saved_free(struct device_cfg_saved *s);

#endif
