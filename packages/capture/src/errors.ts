/**
 * Errors raised by the capture package. Each failure has its own class and a stable `code`;
 * callers and tests branch on `code`, never on message text.
 */

/** Options given to a capture function break a rule; `path` names the offending field. */
export class CaptureOptionsError extends Error {
  readonly code = 'ERR_CAPTURE_OPTIONS';
  readonly path: string;
  constructor(path: string, rule: string) {
    super(`${path}: ${rule}`);
    this.name = 'CaptureOptionsError';
    this.path = path;
  }
}

/** An external command (`ip`, `iptables-restore`, …) failed; the message names it and carries its stderr. */
export class CommandFailedError extends Error {
  readonly code = 'ERR_CAPTURE_COMMAND';
  readonly command: string;
  readonly args: readonly string[];
  readonly exitCode: number | null;
  readonly stderr: string;
  constructor(command: string, args: readonly string[], exitCode: number | null, stderr: string, cause?: unknown) {
    const shown = [command, ...args].join(' ');
    const detail = stderr.trim() || (cause instanceof Error ? cause.message : 'no output');
    super(`command failed (exit ${exitCode ?? 'none'}): ${shown}: ${detail}`, { cause });
    this.name = 'CommandFailedError';
    this.command = command;
    this.args = args;
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

/** Creating a network, host or relay failed part-way; everything it had created was removed again. */
export class HostSetupError extends Error {
  readonly code = 'ERR_CAPTURE_HOST_SETUP';
  constructor(what: string, cause: unknown) {
    super(`${what}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'HostSetupError';
  }
}

/** The external MariaDB instance did not start or did not become reachable. */
export class ExternalMysqlError extends Error {
  readonly code = 'ERR_EXTERNAL_MYSQL';
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'ExternalMysqlError';
  }
}

/** A DNS name table handed to the answerer is malformed; `path` names the offending field. */
export class NameTableError extends Error {
  readonly code = 'ERR_DNS_NAME_TABLE';
  readonly path: string;
  constructor(path: string, rule: string) {
    super(`name table ${path}: ${rule}`);
    this.name = 'NameTableError';
    this.path = path;
  }
}

/** Every address of a VIP range is taken. */
export class VipRangeExhaustedError extends Error {
  readonly code = 'ERR_VIP_EXHAUSTED';
  constructor(range: string, host: string) {
    super(`no free VIP left in ${range} for host ${host}: every address is taken`);
    this.name = 'VipRangeExhaustedError';
  }
}
