import { lines, raw, sh, ShellText } from "./shell";

/**
 * The host jobs' Prometheus textfiles (node_exporter's textfile collector, config `metricsDir`):
 * one gauge per metric, labelled with the script's `$svc`.
 */

/** A gauge: its name, its HELP text, and the shell expression of its value (a variable or `$(...)` this program wrote). */
export interface Gauge {
    name: string;
    help: string;
    value: string;
}

/** One gauge's three lines (HELP, TYPE, sample) as `echo`s, indented by `indent`. */
export function renderGaugeEchoLines(g: Gauge, indent: string): ShellText {
    if (!/^[a-z_][a-z0-9_]*$/.test(g.name)) throw new Error(`refusing metric name ${JSON.stringify(g.name)}`);
    const i = raw(indent.replace(/[^ ]/g, ""));
    return lines(
        sh`${i}echo ${`# HELP ${g.name} ${g.help}`}`,
        sh`${i}echo ${`# TYPE ${g.name} gauge`}`,
        sh`${i}echo "${raw(g.name)}{service=\\"$svc\\"} ${raw(g.value)}"`,
    );
}

/**
 * The body of a shell function that writes `file` whole: aside first (mktemp in the metrics
 * directory: a new 0600 file whose name starts with a dot and does not end in .prom, so the
 * collector skips it and never reads half a file), made readable by node_exporter's user, then
 * renamed over `file`. Any failure removes the temporary file and returns 1 (the caller says so).
 */
export function renderTextfileWriteLines(metricsDir: string, file: string, gauges: Gauge[]): ShellText {
    const name = file.slice(file.lastIndexOf("/") + 1);
    return lines(
        sh`  mkdir -p ${metricsDir} || return 1`,
        sh`  tmp=$(mktemp ${`${metricsDir}/.${name}.XXXXXX`}) || return 1`,
        sh`  {`,
        gauges.map((g) => renderGaugeEchoLines(g, "    ")),
        sh`  } >"$tmp" && chmod 644 "$tmp" && mv -f "$tmp" ${file} || { rm -f "$tmp"; return 1; }`,
    );
}
