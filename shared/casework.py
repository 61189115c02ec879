"""Case work at one node: each act is validated, checked by the lifecycle and written with its
event in one transaction. This is the only writer of a node's case tables."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.deadlines import local_date
from shared.divisions import InvalidDivisionCode, division_tree, is_in_subtree, parse_code
from shared.errors import DomainError, ErrorCode, bad_input
from shared.holidays import HolidayCalendar
from shared.lifecycle import Action, CaseState, Channel, Command, Event, execute
from shared.matters import (
    MAX_REPRESENTATIVES,
    IntakeFinding,
    MatterCheck,
    MatterEntry,
    MatterIndex,
    Refusal,
    judge_intake,
    merged,
)
from shared.persistence import repository
from shared.persistence.repository import NodeDatabase
from shared.privacy import IdCipher
from shared.validation import (
    CATEGORY_MAX,
    REASON_MAX,
    SUMMARY_MAX,
    ValidationFailed,
    person_key,
    validate_address,
    validate_foreign_id,
    validate_person_count,
    validate_person_name,
    validate_phone,
    validate_resident_id,
    validate_text,
)

CASE_ID = re.compile(r"^(\d{2}|\d{4}|\d{6}|\d{9})-(\d{4})-(\d{6})$")
MAX_RECEIPT_AGE = timedelta(days=60)
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that moves only when told to (tests, back-filled demo data)."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, delta: timedelta) -> None:
        self.at += delta


@dataclass(frozen=True)
class Representative:
    """One of a collective visit's representatives (at most five, Art. 20)."""

    name: str
    id_number: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class PetitionInput:
    channel: Channel
    category: str
    summary: str
    issue_locality_code: str
    petitioner_name: str
    petitioner_id_number: str | None = None
    petitioner_phone: str | None = None
    petitioner_address: str | None = None
    person_count: int = 1
    received_from: str | None = None  # the node a transferred matter came from
    received_at: datetime | None = None  # receipt of a letter, when registered later
    foreign_id: bool = False  # a foreign document instead of a resident ID (Art. 48)
    representatives: tuple[Representative, ...] = ()  # a collective visit's (集体访)
    accused_unit: str | None = None  # 检举控告: the unit an accusation accuses (shared.privacy)


@dataclass(frozen=True)
class Registration:
    """A petition just written, told to ``CaseWork.on_register`` in the same transaction."""

    case_id: str
    petition: PetitionInput
    at: datetime
    state: CaseState  # as written (refused at once, when a rule said so)
    matter_key: str | None
    finding: IntakeFinding
    check: MatterCheck | None  # None: not checked against the index (routed here)
    origin_case_id: str | None  # the case this petition is at the node that sent it here
    trail_root: str | None = None  # the chain's root, for a case another node's message made


T = TypeVar("T")


def checked(validator: Callable[[], T]) -> T:
    """Run a validator, turning its refusal into a DomainError with the field named."""
    try:
        return validator()
    except ValidationFailed as error:
        raise bad_input(error.message, error.field) from error


def parse_case_id(case_id: str) -> tuple[str, int, int]:
    match = CASE_ID.match(case_id.strip())
    if match is None:
        raise bad_input(
            f"{case_id!r} is not a case id (owner code-year-sequence, e.g. 530102-2025-000123)",
            "id",
        )
    return match.group(1), int(match.group(2)), int(match.group(3))


RegistrationRecord = Callable[[AsyncConnection, str], Awaitable[None]]


class Reaction(Protocol):
    """What else an act does in its transaction (messages to other nodes, links)."""

    async def __call__(
        self,
        work: CaseWork,
        conn: AsyncConnection,
        case_id: str,
        before: CaseState,
        after: CaseState,
        event: Event,
    ) -> None: ...


class RegistrationReaction(Protocol):
    async def __call__(
        self, work: CaseWork, conn: AsyncConnection, registration: Registration
    ) -> None: ...


class CaseWork:
    def __init__(
        self,
        db: NodeDatabase,
        *,
        calendar: HolidayCalendar,
        clock: Clock,
        person_key_secret: bytes,
        reaction: Reaction | None = None,
        on_commit: Callable[[str], None] | None = None,
        on_register: RegistrationReaction | None = None,
        matter_index: MatterIndex | None = None,
        cipher: IdCipher | None = None,
    ) -> None:
        self.db = db
        # Seals ID numbers before they are written, opens them for a clear read (ADR 0018).
        self.cipher = cipher or IdCipher.from_env()
        self.code = db.code
        self.calendar = calendar
        self.clock = clock
        self.person_key_secret = person_key_secret
        self.reaction = reaction
        self.on_commit = on_commit  # told the node's code after each write (wakes the relay)
        self.on_register = on_register  # notices, redirects and links of a new case
        self.matter_index = matter_index  # the province's index of matters (None: not wired)

    def committed(self) -> None:
        if self.on_commit is not None:
            self.on_commit(self.code)

    # -- registration ------------------------------------------------------------------------

    async def register_petition(
        self,
        petition: PetitionInput,
        *,
        idempotency_key: str | None,
        actor: str,
        also: RegistrationRecord | None = None,
    ) -> str:
        """Register a petition; the same idempotency key returns the same case, written once.

        ``also`` writes a tier's own record of the intake in the same transaction (the desk
        that received it, the grid report it came from); a retry does not run it again."""
        petition = self._validated(petition)
        if idempotency_key is not None and not IDEMPOTENCY_KEY.match(idempotency_key):
            raise bad_input(
                "the idempotency key is 8-128 characters of letters, digits and . _ : -",
                "idempotencyKey",
            )
        request_hash = _request_hash(petition)
        if idempotency_key is not None:
            async with self.db.connect() as conn:
                known = await repository.find_by_idempotency_key(conn, idempotency_key)
            if known is not None:
                return self._replayed(known, request_hash)
        remote = await self._consult_index(petition)
        try:
            return await self._register(
                petition, idempotency_key, request_hash, actor, remote, also
            )
        except IntegrityError as error:
            if idempotency_key is None:
                raise
            # A concurrent request with the same key won the race; answer with its case.
            async with self.db.connect() as conn:
                known = await repository.find_by_idempotency_key(conn, idempotency_key)
            if known is None:
                raise
            del error
            return self._replayed(known, request_hash)

    @staticmethod
    def _replayed(known: tuple[str, str], request_hash: str) -> str:
        case_id, known_hash = known
        if known_hash != request_hash:
            raise DomainError(
                ErrorCode.DUPLICATE,
                f"this idempotency key was already used for case {case_id} with other content",
                field="idempotencyKey",
            )
        return case_id

    async def _consult_index(self, petition: PetitionInput) -> list[MatterEntry] | None:
        """The matter's cases across the province; None when the index cannot answer."""
        key = self._person_key(petition)
        if key is None or self.matter_index is None:
            return None
        return await self.matter_index.lookup(self._matter_key(key, petition))

    async def _register(
        self,
        petition: PetitionInput,
        idempotency_key: str | None,
        request_hash: str,
        actor: str,
        remote: list[MatterEntry] | None,
        also: RegistrationRecord | None = None,
    ) -> str:
        async with self.db.begin() as conn:
            case_id = await self.register_in(
                conn,
                petition,
                idempotency_key=idempotency_key,
                request_hash=request_hash,
                actor=actor,
                intake=Intake(direct=True, remote=remote),
            )
            if also is not None:
                await also(conn, case_id)
        self.committed()
        return case_id

    async def receive_petition_in(
        self,
        conn: AsyncConnection,
        petition: PetitionInput,
        *,
        actor: str,
        origin_case_id: str | None = None,
        check_index: bool = False,
        skip_level_from: str | None = None,
        trail_root: str | None = None,
    ) -> str:
        """Register a petition another node sent here, inside the caller's transaction (the
        message inbox makes it idempotent). ``check_index``: a matter sent down from a
        skip-level visit is checked against the province's index when its notice arrives.
        ``trail_root``: the escalation trail's chain the sender's case belongs to."""
        petition = self._validated(petition)
        return await self.register_in(
            conn,
            petition,
            idempotency_key=None,
            request_hash=_request_hash(petition),
            actor=actor,
            intake=Intake(
                direct=False,
                remote=None,
                check_later=check_index,
                origin_case_id=origin_case_id,
                skip_level_from=skip_level_from,
                trail_root=trail_root,
            ),
        )

    async def register_direct_in(
        self, conn: AsyncConnection, petition: PetitionInput, *, actor: str
    ) -> str:
        """Register a petition received here inside the caller's transaction (12345 tickets
        converted as a batch is imported): validated as ``register_petition`` validates; no
        idempotency key (the caller's own record, the ticket, makes it idempotent) and no
        look-up in the province's index first (a matter with a person key is checked when
        its notice arrives there)."""
        petition = self._validated(petition)
        return await self.register_in(
            conn,
            petition,
            idempotency_key=None,
            request_hash=_request_hash(petition),
            actor=actor,
            intake=Intake(direct=True, remote=None),
        )

    async def register_in(
        self,
        conn: AsyncConnection,
        petition: PetitionInput,
        *,
        idempotency_key: str | None,
        request_hash: str,
        actor: str,
        intake: Intake | None = None,
    ) -> str:
        """Write a validated petition in the caller's transaction; its case id.

        Everything received is registered (Art. 19). A petition the cross-node rules refuse
        (``shared.matters.judge_intake``) is registered and at once not accepted, with the
        rule's code and written reason.
        """
        intake = intake or Intake(direct=True, remote=None)
        now = self.clock.now()
        at = petition.received_at or now
        command = Command(
            Action.REGISTER,
            at,
            actor,
            channel=petition.channel,
            received_from=petition.received_from,
        )
        state, event = execute(None, command, self.calendar)
        key = self._person_key(petition)
        matter_key = self._matter_key(key, petition) if key else None
        local = await repository.matter_entries(conn, matter_key) if matter_key else []
        exclude = [intake.origin_case_id] if intake.origin_case_id else []
        finding = judge_intake(
            self.code,
            channel=petition.channel,
            issue_locality=petition.issue_locality_code,
            at=at,
            entries=merged(intake.remote or [], local),
            exclude=exclude,
            direct=intake.direct,
        )
        check: MatterCheck | None = None
        if matter_key is not None and intake.direct and self.matter_index is not None:
            check = MatterCheck.CHECKED if intake.remote is not None else MatterCheck.PENDING
        elif matter_key is not None and intake.check_later:
            check = MatterCheck.PENDING
        case_id = await repository.next_case_id(conn, self.code, local_date(at).year)
        await repository.insert_case(
            conn,
            {
                "id": case_id,
                "owner_code": self.code,
                "issue_locality_code": petition.issue_locality_code,
                "channel": petition.channel.value,
                "category": petition.category,
                "summary": petition.summary,
                "person_count": petition.person_count,
                "registered_at": at,
                "repeat_of": finding.repeat_of,
                "matter_key": matter_key,
                "idempotency_key": idempotency_key,
                "request_hash": request_hash,
                "skip_level": finding.skip_level,
                "skip_level_from": intake.skip_level_from,
                "refusal_code": finding.refusal.value if finding.refusal else None,
                "matter_check": check.value if check else None,
                "trail_root": intake.trail_root,
                "accused_unit": petition.accused_unit,
            },
            {
                "name": petition.petitioner_name,
                "id_number": self.cipher.seal(petition.petitioner_id_number),
                "phone": petition.petitioner_phone,
                "address": petition.petitioner_address,
                "person_key": key,
            },
            state,
            event,
        )
        await repository.insert_representatives(
            conn,
            case_id,
            [
                {
                    "name": r.name,
                    "id_number": self.cipher.seal(r.id_number),
                    "phone": r.phone,
                    "person_key": person_key(r.id_number, self.person_key_secret)
                    if r.id_number
                    else None,
                }
                for r in petition.representatives
            ],
        )
        if finding.refusal is not None:
            assert finding.reason is not None
            state = await self.refuse_in(
                conn, case_id, state, finding.refusal, finding.reason, actor, at
            )
        if self.on_register is not None:
            await self.on_register(
                self,
                conn,
                Registration(
                    case_id,
                    petition,
                    at,
                    state,
                    matter_key,
                    finding,
                    check,
                    intake.origin_case_id,
                    intake.trail_root,
                ),
            )
        return case_id

    async def refuse_in(
        self,
        conn: AsyncConnection,
        case_id: str,
        state: CaseState,
        refusal: Refusal,
        reason: str,
        actor: str,
        at: datetime,
    ) -> CaseState:
        """不予受理 / 不再受理 under a cross-node rule: the written reason, the rule's code."""
        command = Command(Action.NOT_ACCEPT, max(at, state.last_at), actor, reason=reason)
        new_state, event = execute(state, command, self.calendar)
        await repository.append_event(conn, case_id, state, new_state, event)
        await repository.set_case_columns(conn, case_id, refusal_code=refusal.value)
        return new_state

    def _person_key(self, petition: PetitionInput) -> str | None:
        if not petition.petitioner_id_number:
            return None
        return person_key(
            petition.petitioner_id_number, self.person_key_secret, foreign=petition.foreign_id
        )

    def _matter_key(self, key: str, petition: PetitionInput) -> str:
        """Same person + same matter: the person key, the category and the issue locality as
        registered, keyed again so the index learns neither (docs/adr/0009)."""
        message = f"{key}|{petition.category}|{petition.issue_locality_code}".encode()
        return hmac.new(self.person_key_secret, message, hashlib.sha256).hexdigest()

    def _validated(self, petition: PetitionInput) -> PetitionInput:
        now = self.clock.now()
        locality = self._locality(petition.issue_locality_code)
        received_from = petition.received_from
        if received_from is not None:
            received_from = self._other_node(received_from, "receivedFrom")
        received_at = petition.received_at
        if received_at is not None:
            if received_at.tzinfo is None:
                raise bad_input("the time of receipt needs a time zone", "receivedAt")
            if received_at > now:
                raise bad_input("the time of receipt is in the future", "receivedAt")
            if now - received_at > MAX_RECEIPT_AGE:
                raise bad_input(
                    "a petition is registered on receipt; this receipt is more than 60 days old",
                    "receivedAt",
                )
        id_number = petition.petitioner_id_number
        phone = petition.petitioner_phone
        address = petition.petitioner_address
        return replace(
            petition,
            category=checked(
                lambda: validate_text(petition.category, field="category", max_length=CATEGORY_MAX)
            ),
            summary=checked(
                lambda: validate_text(petition.summary, field="summary", max_length=SUMMARY_MAX)
            ),
            issue_locality_code=locality,
            petitioner_name=checked(lambda: validate_person_name(petition.petitioner_name)),
            petitioner_id_number=self._id_number(id_number, petition.foreign_id),
            petitioner_phone=checked(lambda: validate_phone(phone)) if phone else None,
            petitioner_address=checked(lambda: validate_address(address)) if address else None,
            person_count=checked(lambda: validate_person_count(petition.person_count)),
            received_from=received_from,
            representatives=self._representatives(petition),
            accused_unit=self._accused_unit(petition.accused_unit),
        )

    def _accused_unit(self, code: str | None) -> str | None:
        """An accusation names a real unit of this node's province (its content is then kept
        from that unit and everyone inside it, shared.privacy)."""
        if code is None:
            return None
        code = self._real_division(code, "accusedUnit")
        if code[:2] != self.code[:2]:
            raise bad_input(
                f"{code} is not a unit of this province ({self.code[:2]}): an accusation "
                "against another province's unit goes to that province",
                "accusedUnit",
            )
        return code

    @staticmethod
    def _representatives(petition: PetitionInput) -> tuple[Representative, ...]:
        chosen = petition.representatives
        if not chosen:
            return ()
        if len(chosen) > MAX_REPRESENTATIVES:
            raise DomainError(
                ErrorCode.TOO_MANY_REPRESENTATIVES,
                f"a collective visit sends at most {MAX_REPRESENTATIVES} representatives "
                f"(Art. 20); {len(chosen)} were given",
                field="representatives",
            )
        if petition.channel is not Channel.VISIT or petition.person_count < 2:
            raise bad_input(
                "representatives are chosen by a collective visit (a visit of two or more persons)",
                "representatives",
            )
        if len(chosen) > petition.person_count:
            raise bad_input("there are more representatives than persons", "representatives")
        return tuple(_checked_representative(r) for r in chosen)

    @staticmethod
    def _id_number(value: str | None, foreign: bool) -> str | None:
        if not value:
            return None
        if foreign:
            return checked(lambda: validate_foreign_id(value))
        return checked(lambda: validate_resident_id(value))

    def _locality(self, code: str) -> str:
        code = self._real_division(code, "issueLocality")
        if not is_in_subtree(code, self.code):
            raise bad_input(
                f"{code} is outside this node's jurisdiction ({self.code}); register the matter "
                "where it arose or transfer it there",
                "issueLocality",
            )
        return code

    def _other_node(self, code: str, field: str) -> str:
        code = self._real_division(code, field)
        if code == self.code:
            raise bad_input("a case cannot be routed to or received from its own node", field)
        return code

    @staticmethod
    def _real_division(code: str, field: str) -> str:
        code = code.strip()
        try:
            parse_code(code)
        except InvalidDivisionCode as error:
            raise bad_input(str(error), field) from error
        if not division_tree().exists(code):
            raise bad_input(f"{code} is not a division code in use", field)
        return code

    # -- every later act ---------------------------------------------------------------------

    async def act(self, case_id: str, command: Command) -> CaseState:
        """Apply one lifecycle command to a case, in one transaction, or refuse it."""
        async with self.db.begin() as conn:
            new_state = await self.act_in(conn, case_id, command)
        self.committed()
        return new_state

    async def act_in(self, conn: AsyncConnection, case_id: str, command: Command) -> CaseState:
        """``act`` inside the caller's transaction (a message being applied, say)."""
        owner, _, _ = parse_case_id(case_id)
        if owner != self.code:
            raise DomainError(
                ErrorCode.NOT_FOUND,
                f"case {case_id} is owned by node {owner}, not {self.code}; ask its owner",
                field="id",
            )
        command = self._checked_command(command)
        state = await repository.lock_case_state(conn, case_id)
        if state is None:
            raise DomainError(ErrorCode.NOT_FOUND, f"no case {case_id} at node {self.code}")
        new_state, event = execute(state, command, self.calendar)
        await repository.append_event(conn, case_id, state, new_state, event)
        if self.reaction is not None:
            await self.reaction(self, conn, case_id, state, new_state, event)
        return new_state

    def command(self, action: Action, actor: str, **fields: object) -> Command:
        return Command(action, self.clock.now(), actor, **fields)  # type: ignore[arg-type]

    def _checked_command(self, command: Command) -> Command:
        changes: dict[str, object] = {}
        limits = (("reason", REASON_MAX), ("text", SUMMARY_MAX), ("counselling", SUMMARY_MAX))
        for name, limit in limits:
            value = getattr(command, name)
            if value is not None:
                try:
                    changes[name] = validate_text(value, field=name, max_length=limit)
                except ValidationFailed as error:
                    raise bad_input(error.message, error.field) from error
        if command.target is not None:
            changes["target"] = self._other_node(command.target, "to")
        delivered = command.delivered_at
        if delivered is not None and delivered.tzinfo is None:
            raise bad_input("the delivery time needs a time zone", "deliveredAt")
        if delivered is not None and delivered > self.clock.now():
            raise bad_input("a delivery cannot be recorded before it happens", "deliveredAt")
        return replace(command, **changes) if changes else command  # type: ignore[arg-type]


def _checked_representative(chosen: Representative) -> Representative:
    id_number, phone = chosen.id_number, chosen.phone
    try:
        return Representative(
            name=validate_person_name(chosen.name),
            id_number=validate_resident_id(id_number) if id_number else None,
            phone=validate_phone(phone) if phone else None,
        )
    except ValidationFailed as error:
        raise bad_input(f"a representative: {error.message}", "representatives") from error


@dataclass(frozen=True)
class Intake:
    """How a petition came in, for the cross-node rules."""

    direct: bool  # the petitioner came here (not routed here by another node)
    remote: list[MatterEntry] | None  # the province index's answer; None: not had
    check_later: bool = False
    origin_case_id: str | None = None
    skip_level_from: str | None = None
    trail_root: str | None = None  # the escalation trail's chain (docs/adr/0014)


def _request_hash(petition: PetitionInput) -> str:
    data = asdict(petition)
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
