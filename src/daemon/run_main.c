/* rosfw run: the router as a daemon (and, with --console, a console on this terminal). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "daemon.h"
#include "io/io.h"

int run_main(int argc, char **argv)
{
	struct daemon_opts o = { 0 };
	struct err e;
	err_clear(&e);
	static const char *ifaces[64];
	size_t nifaces = 0;
	o.db = getenv("ROSFW_DB");
	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(argv[i], "--db") && v)
			o.db = argv[++i];
		else if (!strcmp(argv[i], "--socket") && v)
			o.socket = argv[++i];
		else if (!strcmp(argv[i], "--admin-password") && v)
			o.admin_password = argv[++i];
		else if (!strcmp(argv[i], "--files") && v)
			o.files_dir = argv[++i];
		else if (!strcmp(argv[i], "--console"))
			o.console = true;
		else if (!strcmp(argv[i], "--traffic") && v)
			o.traffic = argv[++i];
		else if (!strcmp(argv[i], "--no-services"))
			o.no_services = true;
		else if (!strcmp(argv[i], "--iface") && v && nifaces < 64)
			ifaces[nifaces++] = argv[++i];
		else if (!strcmp(argv[i], "--ct-max-entries") && v) {
			char *end;
			unsigned long n = strtoul(argv[++i], &end, 10);
			if (*end || !n || n > 1048576 || argv[i][0] == '-') {
				fprintf(stderr, "rosfw run: --ct-max-entries: 1 to 1048576, not '%s'\n",
					argv[i]);
				return 2;
			}
			o.ct_max_entries = (uint32_t)n;
		} else if (!strcmp(argv[i], "--io") && v && io_select(argv[i + 1], &e) == 0) {
			i++;
		} else if (!strcmp(argv[i], "--io") && v) {
			fprintf(stderr, "rosfw run: %s\n", e.msg);
			return 2;
		} else {
			fprintf(stderr, "usage: rosfw run [--db PATH] [--socket PATH] [--admin-password P]\n"
					"                 [--files DIR] [--console] [--no-services] [--traffic PROFILE.json]\n"
					"                 [--iface ROUTEROS-NAME=LINUX-NAME ...] [--ct-max-entries N]\n"
					"                 [--io af_packet|af_xdp|auto]\n");
			return 2;
		}
	}
	o.ifaces = ifaces;
	o.nifaces = nifaces;
	if (!o.console)
		return daemon_main(&o);
	/* --console: the daemon in a child of its own (terminal signals do not
	 * reach it), this process becomes its console; leaving the console
	 * stops the router */
	char sock[300];
	if (o.socket) {
		snprintf(sock, sizeof(sock), "%s", o.socket);
	} else {
		const char *db = o.db ? o.db : "var/rosfw.db";
		const char *sl = strrchr(db, '/');
		if (sl)
			snprintf(sock, sizeof(sock), "%.*s/rosfw.sock", (int)(sl - db), db);
		else
			snprintf(sock, sizeof(sock), "rosfw.sock");
		o.socket = sock;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		/* the router returns through main as a plain `rosfw run` does:
		 * its cleanup runs, and a sanitizer build checks it for leaks
		 * (stdout was flushed before the fork: nothing goes out twice) */
		setpgid(0, 0);
		return daemon_main(&o);
	}
	/* wait for the socket */
	int rc = 1;
	for (int i = 0; i < 100; i++) {
		if (access(sock, F_OK) == 0) {
			char *cargv[] = { "console", "--socket", sock, NULL };
			rc = console_main(3, cargv);
			break;
		}
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			fprintf(stderr, "rosfw run: the router did not start\n");
			return 1;
		}
		usleep(50000);
	}
	kill(pid, SIGTERM);
	int st;
	waitpid(pid, &st, 0);
	return rc;
}
