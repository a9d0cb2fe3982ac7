/* A draw's life: commit, run, replacements (docs/draw.md sections 3, 5 and 6). */
#include "draw_internal.h"

#include <errno.h>
#include <openssl/rand.h>
#include <string.h>

int draw_commit(const struct draw_inputs *in, const uint8_t *secret, struct draw **out,
                GString *err)
{
	struct draw *d;
	size_t r, s;
	int rc;

	*out = NULL;
	d = g_new0(struct draw, 1);
	rc = draw_rules(in, &d->lower, NULL, err);
	if (rc) {
		g_free(d);
		return rc;
	}
	if (secret) {
		memcpy(d->secret, secret, DRAW_SECRET_LEN);
	} else if (RAND_bytes(d->secret, DRAW_SECRET_LEN) != 1) {
		if (err)
			g_string_append(err, "OpenSSL RAND_bytes failed");
		g_free(d->lower);
		g_free(d);
		return -EIO;
	}
	d->in = draw_inputs_dup(in);
	draw_inputs_hash(d->in, d->input_hash);
	draw_commitment_compute(d->secret, d->input_hash, d->commitment);
	d->seats = g_array_new(FALSE, TRUE, sizeof(struct draw_seat));
	d->withdrawn = g_array_new(FALSE, TRUE, sizeof(gboolean));
	d->replacements = g_array_new(FALSE, TRUE, sizeof(struct draw_replacement));
	d->occupant = g_new0(long *, d->in->n_rooms + 1);
	for (r = 0; r < d->in->n_rooms; r++) {
		d->occupant[r] = g_new(long, d->in->rooms[r].n_seats);
		for (s = 0; s < d->in->rooms[r].n_seats; s++)
			d->occupant[r][s] = -1;
	}
	*out = d;
	return 0;
}

void draw_free(struct draw *d)
{
	size_t r;

	if (!d)
		return;
	for (r = 0; r < d->in->n_rooms; r++)
		g_free(d->occupant[r]);
	g_free(d->occupant);
	g_array_free(d->seats, TRUE);
	g_array_free(d->withdrawn, TRUE);
	g_array_free(d->replacements, TRUE);
	/* the secret must not linger in freed memory */
	OPENSSL_cleanse(d->secret, sizeof(d->secret));
	g_free(d->entropy);
	g_free(d->lower);
	draw_inputs_free(d->in);
	g_free(d);
}

const struct draw_inputs *draw_get_inputs(const struct draw *d)
{
	return d->in;
}

void draw_get_commitment(const struct draw *d, uint8_t out[DRAW_HASH_LEN])
{
	memcpy(out, d->commitment, DRAW_HASH_LEN);
}

void draw_get_secret(const struct draw *d, uint8_t out[DRAW_SECRET_LEN])
{
	memcpy(out, d->secret, DRAW_SECRET_LEN);
}

void draw_get_input_hash(const struct draw *d, uint8_t out[DRAW_HASH_LEN])
{
	memcpy(out, d->input_hash, DRAW_HASH_LEN);
}

gboolean draw_has_run(const struct draw *d)
{
	return d->run;
}

int draw_get_seed(const struct draw *d, uint8_t out[DRAW_HASH_LEN])
{
	if (!d->run)
		return -EINVAL;
	memcpy(out, d->seed, DRAW_HASH_LEN);
	return 0;
}

static int check_entropy(const char *entropy, GString *err)
{
	size_t n = entropy ? strlen(entropy) : 0;

	if (n == 0 || n > DRAW_MAX_ENTROPY) {
		if (err)
			g_string_append_printf(err, "entropy: must be 1 to %d bytes of text",
			                       DRAW_MAX_ENTROPY);
		return -EINVAL;
	}
	if (!g_utf8_validate(entropy, (gssize)n, NULL)) {
		if (err)
			g_string_append(err, "entropy: not valid UTF-8");
		return -EINVAL;
	}
	return 0;
}

int draw_run(struct draw *d, const char *entropy, GString *err)
{
	struct draw_seat *seats;
	size_t i;
	int rc;

	if (d->run) {
		if (err)
			g_string_append(err, "the draw has already been run");
		return -EINVAL;
	}
	rc = check_entropy(entropy, err);
	if (rc)
		return rc;
	draw_seed_derive(d->secret, entropy, d->input_hash, d->seed);
	seats = g_new0(struct draw_seat, d->in->n_persons + 1);
	rc = draw_assign(d->in, d->seed, seats, err);
	if (rc) {
		g_free(seats);
		return rc;
	}
	for (i = 0; i < d->in->n_persons; i++) {
		gboolean no = FALSE;

		g_array_append_val(d->seats, seats[i]);
		g_array_append_val(d->withdrawn, no);
		d->occupant[seats[i].room][seats[i].seat] = (long)i;
	}
	g_free(seats);
	d->entropy = g_strdup(entropy);
	d->run = TRUE;
	return 0;
}

static const struct draw_person *occupant_person(const struct draw *d, size_t occ)
{
	if (occ < d->in->n_persons)
		return &d->in->persons[occ];
	return &g_array_index(d->replacements, struct draw_replacement, occ - d->in->n_persons)
	            .person;
}

static long occupant_find(const struct draw *d, const char *id)
{
	long i = draw_inputs_find_person(d->in, id);
	size_t j;

	if (i >= 0)
		return i;
	for (j = 0; j < d->replacements->len; j++)
		if (strcmp(g_array_index(d->replacements, struct draw_replacement, j).person.id,
		           id) == 0)
			return (long)(d->in->n_persons + j);
	return -1;
}

int draw_seat_of(const struct draw *d, const char *person, const char **room, const char **seat)
{
	long occ;
	const struct draw_seat *s;

	if (!d->run)
		return -EINVAL;
	occ = occupant_find(d, person);
	if (occ < 0)
		return -ENOENT;
	if (g_array_index(d->withdrawn, gboolean, occ))
		return -ESRCH;
	s = &g_array_index(d->seats, struct draw_seat, occ);
	*room = d->in->rooms[s->room].id;
	*seat = d->in->rooms[s->room].seats[s->seat];
	return 0;
}

void draw_room_counts(const struct draw *d, size_t *out)
{
	size_t r, s;

	for (r = 0; r < d->in->n_rooms; r++) {
		out[r] = 0;
		for (s = 0; s < d->in->rooms[r].n_seats; s++)
			out[r] += d->occupant[r][s] >= 0 ? 1 : 0;
	}
}

size_t draw_n_replacements(const struct draw *d)
{
	return d->replacements->len;
}

static int check_replacement(const struct draw *d, const struct draw_person *p,
                             const char *replaces, long *replaced, GString *err)
{
	const struct draw_person *old;

	*replaced = -1;
	if (!draw_id_valid(p->id) || !draw_id_valid(p->tender)) {
		if (err)
			g_string_append(err, "replacement: person and tender must be valid ids");
		return -EINVAL;
	}
	if (p->role != DRAW_ROLE_EXPERT && p->role != DRAW_ROLE_TENDERER) {
		if (err)
			g_string_append(err, "replacement: role must be expert or tenderer");
		return -EINVAL;
	}
	if (draw_inputs_find_tender(d->in, p->tender) < 0) {
		if (err)
			g_string_append_printf(err, "replacement: tender %s is not in this draw",
			                       p->tender);
		return -EINVAL;
	}
	if (occupant_find(d, p->id) >= 0) {
		if (err)
			g_string_append_printf(
			    err, "replacement: person %s is already in this draw", p->id);
		return -EINVAL;
	}
	if (!replaces)
		return 0;
	*replaced = occupant_find(d, replaces);
	if (*replaced < 0) {
		if (err)
			g_string_append_printf(
			    err, "replacement: person %s to replace is not in this draw", replaces);
		return -ENOENT;
	}
	old = occupant_person(d, (size_t)*replaced);
	if (g_array_index(d->withdrawn, gboolean, *replaced)) {
		if (err)
			g_string_append_printf(
			    err, "replacement: person %s has already been replaced", replaces);
		return -EINVAL;
	}
	if (strcmp(old->tender, p->tender) != 0 || old->role != p->role) {
		if (err)
			g_string_append_printf(err,
			                       "replacement: %s and %s differ in tender or role",
			                       replaces, p->id);
		return -EINVAL;
	}
	return 0;
}

/* Rooms a replacement may take (docs/draw.md section 6): tenderer rooms for a
 * tenderer; for an expert, the expert rooms with a free seat holding the fewest
 * present experts of the same tender. `replaced` counts as gone already. */
static void replacement_rooms(const struct draw *d, const struct draw_person *p, long replaced,
                              const size_t *free_seats, gboolean *room_ok)
{
	size_t r, occ, *count, best = G_MAXSIZE;

	count = g_new0(size_t, d->in->n_rooms + 1);
	for (occ = 0; occ < d->seats->len; occ++) {
		const struct draw_person *q = occupant_person(d, occ);

		if ((long)occ == replaced || g_array_index(d->withdrawn, gboolean, occ))
			continue;
		if (q->role == DRAW_ROLE_EXPERT && strcmp(q->tender, p->tender) == 0)
			count[g_array_index(d->seats, struct draw_seat, occ).room]++;
	}
	for (r = 0; r < d->in->n_rooms; r++)
		if (d->in->rooms[r].kind == DRAW_ROOM_EXPERT && free_seats[r] && count[r] < best)
			best = count[r];
	for (r = 0; r < d->in->n_rooms; r++) {
		if (p->role == DRAW_ROLE_TENDERER)
			room_ok[r] = d->in->rooms[r].kind == DRAW_ROOM_TENDERER;
		else
			room_ok[r] = d->in->rooms[r].kind == DRAW_ROOM_EXPERT && free_seats[r] &&
			             count[r] == best;
	}
	g_free(count);
}

int draw_replace(struct draw *d, const struct draw_person *p, const char *replaces, GString *err)
{
	struct draw_replacement rep = {0};
	struct draw_stream stream;
	uint8_t seed[DRAW_HASH_LEN];
	size_t *free_seats, r, s, n = 0, k;
	gboolean *room_ok, no = FALSE;
	const struct draw_seat *old_seat = NULL;
	long replaced;
	int rc;

	if (!d->run) {
		if (err)
			g_string_append(err, "replacement: the draw has not been run");
		return -EINVAL;
	}
	rc = check_replacement(d, p, replaces, &replaced, err);
	if (rc)
		return rc;
	if (replaced >= 0)
		old_seat = &g_array_index(d->seats, struct draw_seat, replaced);

	free_seats = g_new0(size_t, d->in->n_rooms + 1);
	room_ok = g_new0(gboolean, d->in->n_rooms + 1);
	for (r = 0; r < d->in->n_rooms; r++)
		for (s = 0; s < d->in->rooms[r].n_seats; s++)
			if (d->occupant[r][s] < 0 || d->occupant[r][s] == replaced)
				free_seats[r]++;
	replacement_rooms(d, p, replaced, free_seats, room_ok);
	for (r = 0; r < d->in->n_rooms; r++)
		n += room_ok[r] ? free_seats[r] : 0;
	if (n == 0) {
		if (err)
			g_string_append_printf(err, "replacement %s: no free seat in %s rooms",
			                       p->id,
			                       p->role == DRAW_ROLE_EXPERT ? "expert" : "tenderer");
		rc = -ENOSPC;
		goto out;
	}

	rep.counter = d->replacements->len + 1;
	rep.person = *p;
	rep.has_replaces = replaced >= 0;
	if (replaces)
		g_strlcpy(rep.replaces, replaces, sizeof(rep.replaces));
	draw_replacement_seed(d->seed, rep.counter, seed);
	draw_stream_init(&stream, seed);
	k = draw_stream_uniform(&stream, (uint32_t)n);
	rep.step.n = (uint32_t)n;
	rep.step.k = (uint32_t)k;
	for (r = 0; !room_ok[r] || k >= free_seats[r]; r++)
		k -= room_ok[r] ? free_seats[r] : 0;
	for (s = 0;; s++)
		if ((d->occupant[r][s] < 0 || d->occupant[r][s] == replaced) && k-- == 0)
			break;
	rep.seat.room = r;
	rep.seat.seat = s;

	if (replaced >= 0) {
		d->occupant[old_seat->room][old_seat->seat] = -1;
		g_array_index(d->withdrawn, gboolean, replaced) = TRUE;
	}
	d->occupant[r][s] = (long)d->seats->len;
	g_array_append_val(d->seats, rep.seat);
	g_array_append_val(d->withdrawn, no);
	g_array_append_val(d->replacements, rep);
out:
	g_free(room_ok);
	g_free(free_seats);
	return rc;
}
