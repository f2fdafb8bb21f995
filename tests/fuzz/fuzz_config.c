// SPDX-License-Identifier: GPL-2.0
/*
 * The configuration: config_load_buffer() on any bytes (a config file), and
 * the API's entry points (config_patch_json, config_parse_*,
 * config_put_device) on any JSON body, one after another on the same
 * configuration. The input is records separated by a line "%%"; a record's
 * first byte picks the entry point:
 *   F  a config file          P  a patch document (the command line's way)
 *   b  PUT /boot-source       m  PUT /machine-config    M  PATCH /machine-config
 *   l  PUT /logger            n  PUT /metrics           e  the "ebb" object
 *   D  PUT of a device: "D<section>[/<id>]", a newline, then the body
 * and anything else is a config file, first byte included.
 *
 * Besides ASan and UBSan it checks the contract of config.h: a refused
 * change leaves the configuration exactly as it was (every field, every
 * device's configuration), and an accepted one still passes every rule.
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/support/fuzz_env.h"
#include "tests/fuzz/support/fuzz_input.h"
#include "vmm/config/config.h"
#include "vmm/config/sections.h"

#define MAX_RECORDS 16

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_env_init();
	return 0;
}

/* A shallow picture of cfg: a refused change must not have touched any of it. */
struct picture {
	struct vm_config cfg;
	uint8_t *confs[DEVICE_MAX_CONFS];
};

static void take_picture(struct picture *p, const struct vm_config *cfg)
{
	p->cfg = *cfg;
	for (unsigned int i = 0; i < cfg->devices.nr; i++) {
		const struct device_conf *dc = &cfg->devices.list[i];
		p->confs[i] = malloc(dc->type->conf_size);
		if (!p->confs[i])
			abort();
		memcpy(p->confs[i], dc->conf, dc->type->conf_size);
	}
}

static bool same_as_picture(struct picture *p, const struct vm_config *cfg)
{
	bool same = memcmp(&p->cfg, cfg, sizeof(*cfg)) == 0;
	for (unsigned int i = 0; i < p->cfg.devices.nr; i++) {
		const struct device_conf *dc = &p->cfg.devices.list[i];
		if (same && memcmp(p->confs[i], dc->conf, dc->type->conf_size) != 0)
			same = false;
		free(p->confs[i]);
	}
	return same;
}

static int put_device(char *text, size_t len, struct vm_config *cfg, struct schema_error *err)
{
	char *nl = memchr(text, '\n', len);
	if (!nl)
		return 0;
	*nl = '\0';
	char *id = strchr(text, '/');
	if (id)
		*id++ = '\0';
	const struct device_type *t = device_type_by_section(cfg->devices.registry, text);
	if (!t)
		return 0;
	json_t *body = schema_json_load(nl + 1, len - (nl + 1 - text), err);
	if (!body)
		return -EINVAL;
	int ret = config_put_device(t, id, body, cfg, err);
	json_decref(body);
	return ret;
}

static int api_entry(char kind, const char *text, size_t len, struct vm_config *cfg,
		     struct schema_error *err)
{
	json_t *body = schema_json_load(text, len, err);
	if (!body)
		return -EINVAL;
	int ret;
	switch (kind) {
	case 'P':
		ret = config_patch_json(body, cfg, err);
		break;
	case 'b':
		ret = config_parse_boot_source(body, cfg, err);
		break;
	case 'm':
		ret = config_parse_machine_config(body, cfg, err);
		break;
	case 'M':
		ret = config_parse_machine_config_patch(body, cfg, err);
		break;
	case 'l':
		ret = config_parse_logger(body, cfg, err);
		break;
	case 'n':
		ret = config_parse_metrics(body, cfg, err);
		break;
	default:
		ret = config_parse_ebb(body, cfg, err);
		break;
	}
	json_decref(body);
	return ret;
}

/* A config file: handed over in a buffer of exactly its length, so ASan sees any overread. */
static int load_file(const char *text, size_t len, struct vm_config *cfg, struct schema_error *err)
{
	char *exact = malloc(len ? len : 1);
	if (!exact)
		abort();
	memcpy(exact, text, len);
	int ret = config_load_buffer(exact, len, cfg, err);
	free(exact);
	return ret;
}

static int apply(char *rec, size_t len, struct vm_config *cfg, struct schema_error *err)
{
	if (len == 0)
		return load_file(rec, 0, cfg, err);
	char kind = rec[0];
	switch (kind) {
	case 'F':
		return load_file(rec + 1, len - 1, cfg, err);
	case 'D':
		return put_device(rec + 1, len - 1, cfg, err);
	case 'P':
	case 'b':
	case 'm':
	case 'M':
	case 'l':
	case 'n':
	case 'e':
		return api_entry(kind, rec + 1, len - 1, cfg, err);
	default:
		return load_file(rec, len, cfg, err);
	}
}

static void check_rules(const struct vm_config *cfg)
{
	struct schema_error err;
	struct schema_ctx c;
	schema_ctx_init(&c, &err, NULL, 0);
	if (config_check(&c, cfg, -1) < 0)
		fuzz_fail("an accepted change broke a rule: %s: %s", err.path, err.message);
	schema_ctx_release(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in;
	struct vm_config cfg;
	char *rec;
	size_t len;
	fz_init(&in, data, size);
	fuzz_env_begin(size && (data[0] & 0x80));
	config_init(&cfg);
	for (int i = 0; i < MAX_RECORDS && (rec = fz_record(&in, &len)); i++) {
		struct schema_error err;
		struct picture before;
		memset(&err, 0, sizeof(err));
		take_picture(&before, &cfg);
		int ret = apply(rec, len, &cfg, &err);
		if (ret < 0) {
			/* What the command line and the API print. */
			char msg[1024];
			schema_error_format(&err, "fuzz.json", msg, sizeof(msg));
			fuzz_trace("record %d (%c): refused: %s", i, len ? rec[0] : 'F', msg);
			if (!same_as_picture(&before, &cfg))
				fuzz_fail("a refused change (%s) changed the configuration", msg);
		} else {
			fuzz_trace("record %d (%c): accepted", i, len ? rec[0] : 'F');
			same_as_picture(&before, &cfg);
			check_rules(&cfg);
		}
		free(rec);
	}
	struct vm_config copy;
	if (config_copy(&copy, &cfg) == 0)
		config_free(&copy);
	config_free(&cfg);
	fuzz_env_end();
	return 0;
}
