"""Check the keymap of settings.json before it is applied: an unknown binding id, or two
actions on one key, is reported (never silent) and the loser keeps its default key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tui.actions import ACTIONS, ActionSpec, Scope


@dataclass(frozen=True, slots=True)
class KeymapCheck:
    """The keymap to apply and what was wrong with the one asked for."""

    keymap: dict[str, str]
    warnings: list[str]


def _overlap(a: ActionSpec, b: ActionSpec) -> bool:
    return bool(a.scopes & b.scopes) or Scope.APP in a.scopes or Scope.APP in b.scopes


def check_keymap(
    keymap: Mapping[str, str],
    other_ids: Iterable[str] = (),
    actions: tuple[ActionSpec, ...] = ACTIONS,
) -> KeymapCheck:
    """Drop unknown ids and keys that would take another action's key (registry order wins
    between two remaps; a remap onto a key still used by default loses)."""
    known = {spec.id: spec for spec in actions}
    others = set(other_ids)
    warnings: list[str] = []
    kept: dict[str, str] = {}
    for binding_id, key in keymap.items():
        if binding_id not in known and binding_id not in others:
            warnings.append(
                f"keymap: no binding has the id {binding_id!r}; it is ignored (? lists every id)."
            )
            continue
        kept[binding_id] = key
    effective = {spec.id: kept.get(spec.id, spec.key) for spec in actions}
    for spec in actions:  # registry order: the first one keeps the key
        if spec.id not in kept:
            continue
        key = kept[spec.id]
        rival = next(
            (
                other
                for other in actions
                if other.id != spec.id
                and effective[other.id] == key
                and _overlap(spec, other)
                and (other.id not in kept or _before(other, spec, actions))
            ),
            None,
        )
        if rival is not None:
            warnings.append(
                f"keymap: {spec.id} and {rival.id} are both on {key!r}; "
                f"{spec.id} keeps its default key {spec.key!r}."
            )
            del kept[spec.id]
            effective[spec.id] = spec.key
    return KeymapCheck(kept, warnings)


def _before(a: ActionSpec, b: ActionSpec, actions: tuple[ActionSpec, ...]) -> bool:
    return actions.index(a) < actions.index(b)
