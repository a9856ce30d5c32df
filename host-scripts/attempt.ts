import { hostLayout } from "./layout";
import { sh, ShellText } from "./shell";

// Part of CONTAINER_IS_NEW_FUNCTION's line, apart only for the source's line limit.
const CREATED_AT = sh`"$(date -d "$(docker inspect -f '{{.Created}}' "$1")" +%s)"`;

/**
 * `l9_container_is_new CONTAINER ATTEMPT_FILE` (part of the step library): true when the
 * container was created in this attempt (at or after its preflight wrote ATTEMPT_FILE), false
 * for a container that already existed: the warm standby a rollback returns to. Decided on the
 * host so the scripts read the same in every update (a no-op after a rollback must not differ
 * from the rollback), and the migrate hook and the notification can tell a release from a
 * return to the standby.
 */
export const CONTAINER_IS_NEW_FUNCTION = sh`l9_container_is_new() { [ ${CREATED_AT} -ge "$(cat "$2" 2>/dev/null || echo 0)" ]; }`;

/** A condition: the container was created in this attempt (CONTAINER_IS_NEW_FUNCTION). */
export function containerIsNew(appDir: string, containerName: string): ShellText {
    return sh`l9_container_is_new ${containerName} ${hostLayout(appDir).attemptStarted}`;
}
