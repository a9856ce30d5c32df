import { hostLayout } from "./layout";
import { sh, ShellText } from "./shell";

/**
 * `container_is_new NAME`: true when the container was created in this attempt (at or after
 * its preflight), false for a container that already existed: the warm standby a rollback
 * returns to. Decided on the host so the scripts read the same in every update (a no-op
 * after a rollback must not differ from the rollback), and the migrate hook and the
 * notification can tell a release from a return to the standby.
 */
export function renderContainerIsNewLine(appDir: string): ShellText {
    const started = hostLayout(appDir).attemptStarted;
    return sh`container_is_new() { [ "$(date -d "$(docker inspect -f '{{.Created}}' "$1")" +%s)" -ge "$(cat ${started} 2>/dev/null || echo 0)" ]; }`;
}
