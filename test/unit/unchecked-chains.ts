/**
 * Finds `a && b` lists in shell text whose failure would pass silently. Under `set -e` the
 * shell does not stop when a command before the last `&&` of a list fails: `mkdir X && chmod
 * 700 X` goes on without X when mkdir fails. Such a list is accepted only where its status is
 * looked at: as a condition (`if`, `while`, `until`), with a `||` after its last `&&`
 * (`... || fail "..."`), inside a group whose status is (`{ a && b; } || fail`), or when every
 * command before the last `&&` is a test (`[ ... ] && x`), whose failure is the point.
 */

interface Group {
    /** The group's text, without its brackets. */
    inner: string;
    /** Whether its status is looked at (a condition, or a `||` follows it). */
    checked: boolean;
}

/** The text with quoted strings emptied, so their operators and brackets do not count. */
function stripQuotes(text: string): string {
    let out = "";
    for (let i = 0; i < text.length; i++) {
        const c = text[i];
        if (c === "\\") {
            i++;
            out += "_";
        } else if (c === "'") {
            const end = text.indexOf("'", i + 1);
            i = end < 0 ? text.length : end;
            out += "''";
        } else if (c === '"') {
            let j = i + 1;
            while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
            i = j;
            out += '""';
        } else if (c === "#" && (i === 0 || /\s/.test(text[i - 1]))) {
            while (i < text.length && text[i] !== "\n") i++;
            out += "\n";
        } else {
            out += c;
        }
    }
    return out;
}

const OPEN: Record<string, string> = { "{": "}", "(": ")" };

/**
 * Splits text into its top-level statements (on `;`, `&` alone and newlines), lifting each
 * bracketed group out as a placeholder `@N` whose content is analysed on its own.
 */
function statements(text: string, groups: Group[]): string[] {
    const out: string[] = [];
    let current = "";
    for (let i = 0; i < text.length; i++) {
        const c = text[i];
        const opensBrace = c === "{" && (i + 1 >= text.length || /\s/.test(text[i + 1]));
        if (opensBrace || c === "(") {
            // Find the matching bracket; a `)` of a case pattern has no `(` and is skipped.
            const stack = [OPEN[c]];
            let j = i + 1;
            for (; j < text.length && stack.length > 0; j++) {
                const d = text[j];
                if (d === "(" || (d === "{" && /\s/.test(text[j + 1] ?? " "))) stack.push(OPEN[d]);
                else if (d === stack[stack.length - 1]) stack.pop();
            }
            groups.push({ inner: text.slice(i + 1, j - 1), checked: false });
            current += `@${groups.length - 1} `;
            i = j - 1;
        } else if (c === "\n" || (c === ";" && text[i + 1] !== ";") || (c === "&" && text[i + 1] !== "&" && text[i - 1] !== "&" && text[i - 1] !== ">")) {
            out.push(current);
            current = "";
        } else if (c === ";") {
            out.push(current);
            current = "";
            i++;
        } else {
            current += c;
        }
    }
    out.push(current);
    return out.map((s) => s.trim()).filter((s) => s.length > 0);
}

const CONDITION = /^(if|elif|while|until)\s/;
const LEADING_KEYWORD = /^(then|do|else|!)\s+/;
/** Commands whose failure is an answer, not an error: tests and predicates. */
const TEST = /^(\[|\[\[|test\s|true$|false$|kill -0\s|grep -q|command -v\s)/;

/** A case pattern's `)` has no `(`: dropped, so that it closes no group. */
function dropCasePatternParens(text: string): string {
    return text.replace(/(\bin|;;)(\s*)([^\s()][^()\n]*?)\)/g, "$1$2$3 ");
}

/** The unchecked lists of one piece of shell text (top level and every group inside it). */
function analyse(text: string, checked: boolean, found: string[]): void {
    const groups: Group[] = [];
    for (let stmt of statements(text, groups)) {
        while (LEADING_KEYWORD.test(stmt)) stmt = stmt.replace(LEADING_KEYWORD, "");
        const condition = CONDITION.test(stmt);
        const parts = stmt.split(/(&&|\|\|)/).map((p) => p.trim());
        const commands = parts.filter((_, i) => i % 2 === 0);
        const ops = parts.filter((_, i) => i % 2 === 1);
        const lastAnd = ops.lastIndexOf("&&");
        const orAfter = ops.slice(lastAnd + 1).includes("||");
        // Groups whose status is looked at: in a condition, before a `||`, or in a checked context.
        commands.forEach((cmd, i) => {
            const statusSeen = checked || condition || ops.slice(i).includes("||");
            for (const m of cmd.matchAll(/@(\d+)/g)) groups[Number(m[1])].checked = statusSeen;
        });
        if (!checked && !condition && lastAnd >= 0 && !orAfter) {
            const silent = commands.slice(0, lastAnd + 1).filter((cmd) => !TEST.test(cmd.replace(LEADING_KEYWORD, "")));
            if (silent.length > 0) found.push(stmt);
        }
    }
    for (const g of groups) analyse(g.inner, g.checked, found);
}

/** The statements of `script` with an `&&` list whose failure would pass silently. */
export function uncheckedChains(script: string): string[] {
    const found: string[] = [];
    analyse(dropCasePatternParens(stripQuotes(script)), false, found);
    return found;
}
