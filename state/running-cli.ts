import * as fs from "fs";
import * as path from "path";

/** The pulumi CLI process that runs this program, as far as this machine shows it. */
export interface RunningCli {
    /** Its executable (`pulumi` on PATH when it cannot be found). */
    readonly exe: string;
    /** The operation it was asked for (up, refresh, destroy, preview, ...), when it can be read. */
    readonly command?: string;
}

const OPERATIONS = new Set(["up", "update", "refresh", "destroy", "preview", "import"]);

/** Flags of pulumi that take a value: a stack named `refresh` is not the operation. */
const VALUE_FLAGS = new Set(["-s", "--stack", "-C", "--cwd", "--color", "--config-file", "-m", "--message", "--tracing", "-v", "--verbosity"]);

/** The operation in a pulumi command line (its arguments, NUL-separated as /proc shows them). */
export function operationOf(cmdline: string): string | undefined {
    const args = cmdline.split("\0").slice(1);
    return args.find((a, i) => OPERATIONS.has(a) && !VALUE_FLAGS.has(args[i - 1]));
}

/**
 * The pulumi CLI that runs this program (language host → CLI, a few processes up): the same
 * version and backend for a nested read, and the operation, which the SDK does not say (a
 * refresh runs the program as an update does, not as a preview).
 */
export function runningCli(): RunningCli {
    // The same process for the whole run: read /proc once (the history read and the freeze's refusal both ask).
    found ??= findRunningCli();
    return found;
}

let found: RunningCli | undefined;

function findRunningCli(): RunningCli {
    let pid = process.ppid;
    for (let i = 0; i < 4 && pid > 1; i++) {
        try {
            const exe = fs.readlinkSync(`/proc/${pid}/exe`);
            if (path.basename(exe) === "pulumi") return { exe, command: operationOf(fs.readFileSync(`/proc/${pid}/cmdline`, "utf8")) };
            const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
            pid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        } catch {
            break;
        }
    }
    return { exe: "pulumi" };
}
