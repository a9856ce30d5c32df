/**
 * What the stack can return to in seconds: the releases in the slots and those whose image the
 * host keeps (host-scripts/kept-releases.ts), as they will be once this update's switch pruned
 * old images. Pure.
 */
import { KeptImage } from "../host-scripts/kept-releases";
import { COLORS, ReleasePlan } from "../state/slot-machine";

/**
 * The kept releases after the update, outside the slots: the switch (any update that is not
 * `unchanged`) keeps the newest `imagesToKeep` images of the service and those a container
 * uses (host-scripts/image-prune.ts); a release built in this update is the newest.
 */
export function keptAfterUpdate(kept: KeptImage[], plan: ReleasePlan, imagesToKeep: number): KeptImage[] {
    const inSlots = new Set(COLORS.map((c) => plan.next.slots[c]?.tag).filter((t): t is string => !!t));
    const outside = kept.filter((k) => !inSlots.has(k.tag));
    if (plan.transition === "unchanged") return outside;
    const built = plan.replaced !== null && !kept.some((k) => k.tag === plan.next.slots[plan.replaced!]?.tag) ? 1 : 0;
    const newest = new Set(kept.slice(0, Math.max(0, imagesToKeep - built)).map((k) => k.tag));
    return outside.filter((k) => newest.has(k.tag));
}
