/**
 * A state backend's URL as messages may show it: the user, never the password (Pulumi's
 * postgres:// and s3:// URLs can carry one; lib/pq also reads `password=`).
 */
export function redactUrls(text: string): string {
    return (
        text
            // Up to the last '@' before the host: a password may hold an unencoded '@'.
            .replace(/\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#]*)@/gi, (_, scheme: string, userinfo: string) => {
                const user = userinfo.split(":")[0];
                return userinfo.includes(":") ? `${scheme}${user}:***@` : `${scheme}${userinfo}@`;
            })
            .replace(/([?&]password=)[^&\s]*/gi, "$1***")
    );
}
