"""Options a publisher declares: a publisher factory may carry ``options`` (a list of
:class:`click.Option`); the commands that open a publisher (``gallery publish``, ``verify``,
``unpublish``, ``invite``) get every installed publisher's options when the CLI is made, and
the factory is given only its own, as keyword arguments. So the core names no publisher's
settings (S3's ``--region`` is the S3 plugin's), a plugin's publisher gets the options it
needs, and blocking a plugin takes its options away with it.

Besides ``options``, a factory may carry:

- ``option_commands``: ``{option name: commands}``, for an option that only some of those
  commands take (S3's ``--cdn`` is for ``gallery publish`` alone); other options go to all;
- ``publish_keys``: the names of options whose value, when not on the command line, comes
  from the ``[publish]`` key of the same name (the built-in S3 publisher's region and
  profile), and ``publish_place_keys``: those whose ``[publish]`` key belongs to the bucket
  ``[publish] target`` names, not used for a TARGET elsewhere (its cdn, domain, wait, purge,
  private).

Value order: the command line, then ``[plugins.NAME] <name>`` of the publisher's plugin,
then ``[publish]`` (those keys), then the option's default. An option whose value is None in
the end is not given to the factory at all, so that the factory's own default applies.

Pure but for reading the plugin manager's hooks.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import click
from click.core import ParameterSource

from gallery_builder.errors import GalleryError, PluginError, SettingError

#: the commands that open a publisher: each gets every installed publisher's options
PUBLISHER_COMMANDS = ("publish", "verify", "unpublish", "invite")


def scheme_of(target: str) -> str:
    """The scheme of ``target``; a bare name means ``s3``."""
    return urlsplit(target).scheme.lower() if "://" in target else "s3"


@dataclass(frozen=True)
class InstalledPublisher:
    """One scheme's factory, the plugin it comes from and what it declares."""

    scheme: str
    plugin: str
    factory: Any

    @property
    def options(self) -> list[click.Option]:
        declared = getattr(self.factory, "options", None) or []
        for option in declared:
            if not isinstance(option, click.Option):
                raise GalleryError(
                    f"plugin '{self.plugin}': the {self.scheme}:// publisher's options must be "
                    f"click.Option objects, not {option!r}; block it with --block {self.plugin}"
                )
        return list(declared)

    def options_for(self, command: str) -> list[click.Option]:
        """The options this publisher takes in ``command``."""
        commands: Mapping[str, Collection[str]] = getattr(self.factory, "option_commands", {})
        return [o for o in self.options if command in commands.get(o.name or "", (command,))]

    def publish_key(self, name: str) -> str | None:
        """How option ``name`` falls back to ``[publish]``: "any" target, its "place" only,
        or None (not at all)."""
        if name in getattr(self.factory, "publish_keys", ()):
            return "any"
        if name in getattr(self.factory, "publish_place_keys", ()):
            return "place"
        return None


@dataclass
class Publishers:
    """Every installed publisher by its scheme (a scheme claimed twice is an error)."""

    by_scheme: dict[str, InstalledPublisher] = field(default_factory=dict)

    def command_options(self, command: str) -> list[click.Option]:
        """Every publisher's options for ``command``, each once: one option name declared by
        two publishers differently is an error naming both."""
        chosen: dict[str, tuple[click.Option, InstalledPublisher]] = {}
        flags: dict[str, tuple[str, InstalledPublisher]] = {}
        for publisher in self.by_scheme.values():
            for option in publisher.options_for(command):
                name = option.name or ""
                if name in chosen:
                    first, owner = chosen[name]
                    if _described(first) != _described(option):
                        raise GalleryError(
                            f"{_flag(option)} is declared differently by plugin "
                            f"'{owner.plugin}' ({owner.scheme}://) and plugin "
                            f"'{publisher.plugin}' ({publisher.scheme}://): block one with "
                            "--block NAME"
                        )
                    continue
                for flag in [*option.opts, *option.secondary_opts]:
                    if flag in flags and flags[flag][0] != name:
                        other = flags[flag][1]
                        raise GalleryError(
                            f"{flag} is declared by plugin '{other.plugin}' ({other.scheme}://) "
                            f"and plugin '{publisher.plugin}' ({publisher.scheme}://) as two "
                            "different options: block one with --block NAME"
                        )
                    flags[flag] = (name, publisher)
                chosen[name] = (option, publisher)
        return [option for option, _ in chosen.values()]

    def owners(self, name: str, command: str) -> list[InstalledPublisher]:
        return [
            p
            for p in self.by_scheme.values()
            if any(o.name == name for o in p.options_for(command))
        ]


def _described(option: click.Option) -> dict[str, Any]:
    return option.to_info_dict()


def _flag(option: click.Option, value: Any = None) -> str:
    """How the user writes ``option`` (``--no-wait`` for a False of ``--wait/--no-wait``)."""
    if value is False and option.secondary_opts:
        return option.secondary_opts[0]
    longest = max(option.opts, key=len)
    return longest


def installed_publishers(pm: Any) -> Publishers:
    """What the plugins of ``pm`` publish to; a scheme claimed twice is an error."""
    publishers = Publishers()
    for impl in reversed(pm.hook.gallery_publishers.get_hookimpls()):
        for scheme, factory in (impl.function() or {}).items():
            scheme = scheme.lower()
            if scheme in publishers.by_scheme:
                raise GalleryError(
                    f"two plugins publish to '{scheme}://': "
                    f"{publishers.by_scheme[scheme].plugin} and {impl.plugin_name}; block one "
                    "with --block NAME"
                )
            publishers.by_scheme[scheme] = InstalledPublisher(scheme, impl.plugin_name, factory)
    return publishers


def with_publisher_options(command: click.Command, pm: Any) -> click.Command:
    """A copy of ``command`` that also takes every installed publisher's options for it. A
    publisher option that would take the place of one of the command's own is an error."""
    publishers = installed_publishers(pm)
    extra = publishers.command_options(command.name or "")
    own = {flag: p for p in command.params for flag in [*p.opts, *p.secondary_opts]}
    names = {p.name for p in command.params}
    for option in extra:
        clash = [f for f in [*option.opts, *option.secondary_opts] if f in own]
        if clash or option.name in names:
            owner = publishers.owners(option.name or "", command.name or "")[0]
            raise GalleryError(
                f"plugin '{owner.plugin}' declares {clash[0] if clash else _flag(option)} for "
                f"its {owner.scheme}:// publisher, which gallery {command.name} has already: "
                f"rename the option, or block it with --block {owner.plugin}"
            )
    made = copy.copy(command)
    made.params = [*command.params, *extra]
    return made


def refusing(command: click.Command, problem: GalleryError) -> click.Command:
    """A copy of ``command`` that fails with ``problem`` (one ``Error:`` line, exit 1) when run:
    what the commands that open a publisher become when the publishers' options cannot be
    added to them (the other commands, and ``--help``, still work)."""

    def refuse(**params: Any) -> None:
        if params.get("verbose") and isinstance(problem, PluginError):  # -v: the plugin's traceback
            click.echo(problem.traceback_text(), err=True, nl=False)
        raise click.ClickException(str(problem))

    made = copy.copy(command)
    made.callback = refuse
    return made


def given_on_command_line(ctx: click.Context, names: Collection[str]) -> set[str]:
    """Which of ``names`` the user gave (on the command line, or an option's own envvar)."""
    given = (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT, ParameterSource.PROMPT)
    return {name for name in names if ctx.get_parameter_source(name) in given}


@dataclass(frozen=True)
class OptionValue:
    """A publisher option's value and where it came from (None: its default)."""

    name: str
    value: Any
    origin: str | None


#: (scheme's publisher, option name) -> (value, origin), or None when that source says nothing
Fallback = Callable[[InstalledPublisher, str], tuple[Any, str] | None]


def option_values(
    pm: Any,
    target: str,
    command: str,
    values: Mapping[str, Any],
    given: Collection[str],
    fallbacks: Collection[Fallback] = (),
) -> list[OptionValue]:
    """The values of ``target``'s publisher's options in ``command``: from the command line
    (``values``, of which ``given`` were written there), else the first of ``fallbacks`` that
    has one, else the option's default. An option given on the command line that the target's
    publisher does not declare is a usage error (SettingError) naming the option and the
    scheme. A scheme no plugin publishes to gives no values (opening it fails, saying so)."""
    publishers = installed_publishers(pm)
    publishers.command_options(command)  # two publishers declaring one option differently
    scheme = scheme_of(target)
    publisher = publishers.by_scheme.get(scheme)
    if publisher is None:
        return []
    declared = publisher.options_for(command)
    names = {o.name for o in declared}
    for name in sorted(set(given) - names):
        _refuse(publishers, command, name, values.get(name), scheme)
    found: list[OptionValue] = []
    for option in declared:
        name = option.name or ""
        if name in given:
            found.append(OptionValue(name, values.get(name), _flag(option, values.get(name))))
            continue
        for fallback in fallbacks:
            setting = fallback(publisher, name)
            if setting is not None:
                found.append(OptionValue(name, *setting))
                break
        else:
            found.append(OptionValue(name, values.get(name, option.default), None))
    return found


def _refuse(publishers: Publishers, command: str, name: str, value: Any, scheme: str) -> None:
    owners = publishers.owners(name, command)
    option = next(o for o in owners[0].options_for(command) if o.name == name)
    takers = ", ".join(f"{p.scheme}:// (plugin '{p.plugin}')" for p in owners)
    raise SettingError(
        f"{_flag(option, value)} is not an option of {scheme}:// targets: it is for "
        f"{takers}; leave it out, or publish to such a target"
    )


def factory_options(found: list[OptionValue]) -> dict[str, Any]:
    """The keyword arguments for the factory: each option with a value (None: left out)."""
    return {v.name: v.value for v in found if v.value is not None}
