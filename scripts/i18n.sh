#!/usr/bin/env bash
# Translations with Babel. The UI is written in Swedish (the msgids); English is a catalog.
#
#   scripts/i18n.sh extract   strings from code and templates -> messages.pot
#   scripts/i18n.sh update    merge the .pot into each catalog (init en when it is missing)
#   scripts/i18n.sh compile   .po -> .mo (the .mo is gitignored; run before serving)
#   scripts/i18n.sh check     fail when a string in the code has no checked translation
#   scripts/i18n.sh all       extract + update + compile
#
# After `update`, translate the new msgids in shared/web/translations/<lang>/LC_MESSAGES/
# messages.po, remove any "#, fuzzy" flags you have checked, then `compile`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYBABEL="${PYBABEL:-$ROOT/.venv/bin/pybabel}"
[[ -x "$PYBABEL" ]] || PYBABEL="$(command -v pybabel || true)"
[[ -n "$PYBABEL" ]] || { echo "i18n: pybabel not found (install the project into .venv)" >&2; exit 1; }
PYTHON="$(dirname "$PYBABEL")/python"
[[ -x "$PYTHON" ]] || PYTHON="$(command -v python3)"

DIR="shared/web/translations"
POT="$DIR/messages.pot"
LANGS=(en)

extract() {
    # --ignore-dirs replaces pybabel's default (".* ._"), which also skips every directory
    # starting with "_" and so every template in a _partials/ folder.
    mkdir -p "$DIR"
    "$PYBABEL" -q extract -F babel.cfg \
        -k _l -k lazy_gettext -k lazy_ngettext:1,2 -k lazy_pgettext:1c,2 \
        -k FieldError:2 -k NotAllowed:1 -k NotFound:1 -k Forbidden:1 -k DomainError:1 \
        --add-comments=TRANSLATORS: --project=Skuldkoll --version=0.1 --copyright-holder=Skuldkoll \
        --ignore-dirs ".* __pycache__" \
        -o "$POT" .
}

update() {
    [[ -f "$POT" ]] || extract
    for lang in "${LANGS[@]}"; do
        if [[ -f "$DIR/$lang/LC_MESSAGES/messages.po" ]]; then
            "$PYBABEL" update -i "$POT" -d "$DIR" -l "$lang"
        else
            "$PYBABEL" init -i "$POT" -d "$DIR" -l "$lang"
        fi
    done
}

compile() {
    if ! compgen -G "$DIR/*/LC_MESSAGES/messages.po" >/dev/null; then
        echo "i18n: no catalogs under $DIR, nothing to compile"
        return 0
    fi
    # --use-fuzzy is not given: a fuzzy (unchecked) translation falls back to Swedish.
    "$PYBABEL" compile -d "$DIR" --statistics
}

check() {
    # Extract afresh into a temporary .pot, so a new string in code or a template that
    # nobody has translated yet fails the check too (not only gaps in the .po).
    FRESH_POT="$(mktemp --suffix=.pot)"
    trap 'rm -f "$FRESH_POT"' EXIT
    POT="$FRESH_POT" extract
    "$PYTHON" - "$DIR" "$FRESH_POT" "${LANGS[@]}" <<'PY'
import sys
from pathlib import Path
from babel.messages.pofile import read_po

base, pot_path, langs = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
with open(pot_path, "rb") as f:
    pot = read_po(f)
bad = 0
for lang in langs:
    path = base / lang / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as f:
        catalog = read_po(f, locale=lang)
    for m in pot:
        if not m.id:
            continue
        t = catalog.get(m.id, m.context)
        strings = () if t is None else (t.string if isinstance(t.string, tuple) else (t.string,))
        if t is None or t.fuzzy or not strings or not all(strings):
            bad += 1
            state = "missing" if t is None else "fuzzy" if t.fuzzy else "untranslated"
            where = ", ".join(f"{p}:{n}" for p, n in m.locations[:2])
            print(f"{lang}: {state}: {m.id!r} ({where})")
if bad:
    print(f"i18n: {bad} message(s) need a translation: run `scripts/i18n.sh update`, "
          "translate, then `scripts/i18n.sh compile`")
else:
    print("i18n: all messages translated")
sys.exit(1 if bad else 0)
PY
}

case "${1:-}" in
    extract) extract ;;
    update) update ;;
    compile) compile ;;
    check) check ;;
    all) extract; update; compile ;;
    *) echo "usage: $0 {extract|update|compile|check|all}" >&2; exit 2 ;;
esac
