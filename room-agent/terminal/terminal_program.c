#include "terminal_program.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"

struct terminal_program {
	char *room;
	char *seat;
	GSubprocess *proc; /* the running program, NULL when none */
};

struct terminal_program *terminal_program_new(const char *room, const char *seat)
{
	struct terminal_program *p = g_new0(struct terminal_program, 1);
	p->room = g_strdup(room);
	p->seat = g_strdup(seat);
	return p;
}

static void child_new_group(gpointer data)
{
	setpgid(0, 0);
}

static pid_t proc_pid(GSubprocess *proc)
{
	const char *id = g_subprocess_get_identifier(proc); /* NULL once reaped */
	return id ? (pid_t)atoi(id) : 0;
}

static void program_exited(GObject *source, GAsyncResult *res, gpointer data)
{
	GSubprocess *proc = G_SUBPROCESS(source);
	GError *err = NULL;
	if (!g_subprocess_wait_finish(proc, res, &err)) {
		log_warnx("evaluation client: wait: %s", err->message);
		g_error_free(err);
	} else if (g_subprocess_get_if_signaled(proc)) {
		log_info("evaluation client ended by signal %d", g_subprocess_get_term_sig(proc));
	} else {
		log_info("evaluation client exited with status %d",
		         g_subprocess_get_exit_status(proc));
	}
	g_object_unref(proc);
}

static int program_start(void *ctx, const char *cmdline, const char *person_id,
                         const char *person_name, const char *tender_id)
{
	struct terminal_program *p = ctx;
	if (p->proc)
		return -EBUSY;
	GError *err = NULL;
	char **argv = NULL;
	if (!g_shell_parse_argv(cmdline, NULL, &argv, &err)) {
		log_warnx("[session] program: %s", err->message);
		g_error_free(err);
		return -EINVAL;
	}
	GSubprocessLauncher *l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDIN_PIPE |
	                                                   G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
	                                                   G_SUBPROCESS_FLAGS_STDERR_SILENCE);
	g_subprocess_launcher_setenv(l, "EVALROOM_ROOM", p->room, TRUE);
	g_subprocess_launcher_setenv(l, "EVALROOM_SEAT", p->seat, TRUE);
	g_subprocess_launcher_setenv(l, "EVALROOM_PERSON_ID", person_id, TRUE);
	g_subprocess_launcher_setenv(l, "EVALROOM_PERSON_NAME", person_name, TRUE);
	g_subprocess_launcher_setenv(l, "EVALROOM_TENDER_ID", tender_id, TRUE);
	g_subprocess_launcher_set_child_setup(l, child_new_group, NULL, NULL);
	GSubprocess *proc = g_subprocess_launcher_spawnv(l, (const char *const *)argv, &err);
	g_object_unref(l);
	g_strfreev(argv);
	if (!proc) {
		int rc = err->domain == G_SPAWN_ERROR && err->code == G_SPAWN_ERROR_NOENT ? -ENOENT
		                                                                          : -EIO;
		log_warnx("evaluation client \"%s\": %s", cmdline, err->message);
		g_error_free(err);
		return rc;
	}
	log_info("evaluation client started (pid %s) for %s", g_subprocess_get_identifier(proc),
	         person_id);
	p->proc = proc;
	g_subprocess_wait_async(proc, NULL, program_exited, g_object_ref(proc));
	return 0;
}

static gboolean kill_late(gpointer data)
{
	pid_t pid = proc_pid(data);
	if (pid > 0) {
		log_warnx("evaluation client (pid %d) ignored SIGTERM: killing it", (int)pid);
		kill(-pid, SIGKILL);
	}
	return G_SOURCE_REMOVE;
}

static void program_stop(void *ctx)
{
	struct terminal_program *p = ctx;
	if (!p->proc)
		return;
	pid_t pid = proc_pid(p->proc);
	if (pid > 0) {
		kill(-pid, SIGTERM);
		g_timeout_add_full(G_PRIORITY_DEFAULT, TERMINAL_PROGRAM_GRACE_MS, kill_late,
		                   g_object_ref(p->proc), g_object_unref);
	}
	g_object_unref(p->proc);
	p->proc = NULL;
}

void terminal_program_free(struct terminal_program *p)
{
	if (!p)
		return;
	if (p->proc) {
		pid_t pid = proc_pid(p->proc);
		if (pid > 0) {
			kill(-pid, SIGTERM);
			/* GLib reaps the child on its worker thread: the identifier goes away
			 * once it has exited. */
			for (int i = 0; i < TERMINAL_PROGRAM_GRACE_MS / 50 && proc_pid(p->proc);
			     i++)
				g_usleep(50 * 1000);
			if (proc_pid(p->proc))
				kill(-pid, SIGKILL);
		}
		g_object_unref(p->proc);
	}
	g_free(p->room);
	g_free(p->seat);
	g_free(p);
}

const struct terminal_program_ops terminal_program_ops = {
    .start = program_start,
    .stop = program_stop,
};
