"""``copps inbox``: mail into the inbox and pulling replies from the channels.

- ``copps inbox mail`` reads one RFC 822 message from standard input (an MTA's pipe transport,
  e.g. Postfix ``contact: "|/path/to/copps inbox mail"``). Exit status 0: stored or dropped on
  purpose (automatic mail); 75 (EX_TEMPFAIL): not stored, the MTA should try again later.
- ``copps inbox smtpd [--host --port]`` runs an SMTP server that accepts mail for the contact
  address only (default address: ``COPPS_MAIL_INBOUND``).
- ``copps inbox pull`` pulls replies and mentions from every account now, with progress.
"""

import signal
import sys
import threading

from django.core.management.base import BaseCommand, CommandError

EX_TEMPFAIL = 75


class Command(BaseCommand):
    help = "The citizens' inbox: receive e-mail (pipe or SMTP) and pull channel replies."

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Set to stop ``smtpd`` (SIGINT/SIGTERM do it when run as a program).
        self.stopping = threading.Event()

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("mail", help="Store one e-mail read from standard input.")
        smtpd = sub.add_parser("smtpd", help="Run the SMTP server for the contact address.")
        smtpd.add_argument("--host", default="", help="Address to listen on.")
        smtpd.add_argument("--port", type=int, default=0, help="Port to listen on.")
        sub.add_parser("pull", help="Pull replies and mentions from every channel now.")

    def handle(self, *args, action, **options):
        getattr(self, f"do_{action}")(**options)

    def do_mail(self, **options):
        from copps.inbox import mail

        raw = sys.stdin.buffer.read(mail.MAX_MESSAGE_BYTES + 1)
        try:
            entry = mail.receive_mail(raw)
        except mail.Dropped as why:
            self.stdout.write(f"inbox mail: not stored ({why})")
            return
        except Exception as exc:
            self.stderr.write(f"inbox mail: cannot store the message now: {type(exc).__name__}")
            sys.exit(EX_TEMPFAIL)
        if entry is None:
            self.stdout.write("inbox mail: already stored")
        else:
            self.stdout.write(f"inbox mail: stored in conversation {entry.conversation_id}")

    def do_smtpd(self, *, host, port, **options):
        from copps.inbox import mail

        default_host, default_port = mail.inbound_endpoint()
        host, port = host or default_host, port or default_port
        if not 0 < port < 65536:
            raise CommandError("--port must be between 1 and 65535")
        controller = mail.controller(host, port)
        stop = self.stopping
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_a: stop.set())
        try:
            controller.start()
        except (OSError, RuntimeError) as exc:
            raise CommandError(f"cannot listen on {host}:{port}: {exc}") from None
        self.stdout.write(
            f"copps inbox smtpd: listening on {host}:{port} for {mail.contact_address()}"
        )
        self.stdout.flush()
        try:
            stop.wait()
        finally:
            controller.stop()
        self.stdout.write("copps inbox smtpd: stopped")

    def do_pull(self, **options):
        from copps.inbox import pull

        def report(name, stored, error):
            if error:
                self.stdout.write(f"{name}: failed: {error}")
            else:
                self.stdout.write(f"{name}: {stored} new")
            self.stdout.flush()

        total = pull.pull_due(force=True, report=report)
        self.stdout.write(f"inbox pull: {total} new in all")
