"""Simulated volunteers: each signs in through the real sign-in form and works the real queue pages, as a
browser would (cookies, CSRF tokens, redirects): take the next call, open its screen, think, save the call,
back to the console, again. One asyncio task per volunteer over aiohttp; requests go to the instances in
turn (a load balancer without sticky sessions).

What each volunteer saw is recorded for the checks (bench/checks.py): which task every claim handed it, and
the submission key of every call the app answered as saved.
"""
import asyncio
import html
import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field

import aiohttp

PASSWORD = "bench-volunteer-password"
TASK_PATH = re.compile(r"/queue/task/(\d+)$")
FLASHED = re.compile(r'<div class="alert alert-(\w+)[^"]*" role="alert">')  # a flashed message and its category
# A volunteer whose save failed presses Save again (the same form: the same submission key), waiting a little
# longer each time, for about 40 s in all.
SAVE_TRIES = 10


def hidden(html, name):
    match = re.search(rf'<input[^>]*\bname="{re.escape(name)}"[^>]*\bvalue="([^"]*)"', html)
    return match.group(1) if match else None


def member_ids(html):
    return re.findall(r'<input[^>]*\bname="(members-\d+-patient_id)"[^>]*\bvalue="(\d+)"', html)


@dataclass
class Record:
    """Everything the volunteers saw, in one place (one event loop: no locks needed)."""
    claims: list = field(default_factory=list)       # (username, task_id, started, seconds)
    saves: list = field(default_factory=list)        # (username, task_id, submission_key, seconds)
    # Saves whose first answer was an error although the attempt was recorded (the next try said "already
    # saved"): the volunteer was told something failed when it had not.
    saved_despite_error: int = 0
    # Saves answered with an error page that says the entry was saved (do not enter it again).
    error_said_saved: int = 0
    unanswered: list = field(default_factory=list)   # (username, task_id, submission_key): no success after tries
    errors: Counter = field(default_factory=Counter)  # (step, what) -> count
    empty: int = 0                                   # takes that found no call due
    latency: dict = field(default_factory=dict)      # step -> [seconds] of every answered request
    timeline: list = field(default_factory=list)     # (time, step, ok) for errors over time


class Failed(Exception):
    def __init__(self, step, what):
        super().__init__(f"{step}: {what}")
        self.step, self.what = step, what


class Volunteer:
    def __init__(self, username, bases, record, think, rng, saved_texts=()):
        self.username, self.bases, self.record, self.think, self.rng = username, bases, record, think, rng
        self.saved_texts = saved_texts  # the app's "saved, then something failed" message, in each language
        self.turn = rng.randrange(len(bases))
        self.session = None
        self.signed_in = False

    def _url(self, path):
        self.turn = (self.turn + 1) % len(self.bases)
        return self.bases[self.turn] + path

    async def _request(self, step, method, path, data=None):
        """One request, redirects not followed. Returns (status, location, text); a 5xx, a refused connection
        or a timeout raises Failed."""
        started = time.monotonic()
        try:
            async with self.session.request(method, self._url(path), data=data, allow_redirects=False) as response:
                text = await response.text()
                self.record.latency.setdefault(step, []).append(time.monotonic() - started)
                if response.status >= 500:
                    said_saved = any(t in html.unescape(text) for t in self.saved_texts)
                    raise Failed(step, f"HTTP {response.status}" + (" saying saved" if said_saved else ""))
                return response.status, response.headers.get("Location", ""), text
        except aiohttp.ClientError as exc:
            raise Failed(step, type(exc).__name__) from None
        except asyncio.TimeoutError:
            raise Failed(step, "timeout") from None

    async def sign_in(self):
        _status, _location, page = await self._request("sign-in page", "GET", "/login")
        status, location, _text = await self._request("sign-in", "POST", "/login", {
            "username": self.username, "password": PASSWORD, "csrf_token": hidden(page, "csrf_token")})
        if status != 302 or location.endswith("/login"):
            raise Failed("sign-in", f"HTTP {status} → {location}")
        self.signed_in = True

    async def console(self):
        status, location, page = await self._request("console", "GET", "/queue/")
        if status == 302 and "/login" in location:
            self.signed_in = False
            raise Failed("console", "signed out")
        if status != 200:
            raise Failed("console", f"HTTP {status} → {location}")
        return page

    async def take(self, page):
        """Press *Take the most urgent call*. Returns the task id, or None when nothing is due."""
        started = time.monotonic()
        status, location, _text = await self._request("take", "POST", "/queue/take", {
            "csrf_token": hidden(page, "csrf_token"), "setting": ""})
        seconds = time.monotonic() - started
        if status != 302:
            raise Failed("take", f"HTTP {status}")
        match = TASK_PATH.search(location)
        if not match:
            return None
        task_id = int(match.group(1))
        self.record.claims.append((self.username, task_id, started, seconds))
        return task_id

    def _report(self, page):
        form = {"csrf_token": hidden(page, "csrf_token"), "submission_key": hidden(page, "submission_key"),
                "notes": "", "callback_at": ""}
        roll = self.rng.random()
        members = member_ids(page)
        if roll < 0.15:
            form["outcome"] = "no_answer"
            for name, value in members:
                form[name] = value
            return form
        form["outcome"] = "connected"
        readings = {"temperature_f": f"{self.rng.uniform(97.5, 99.4):.1f}", "spo2": str(self.rng.randint(95, 99))}
        if members:  # a household's shared phone: readings per member
            for i, (name, value) in enumerate(members):
                form[name] = value
                form.update({f"members-{i}-{k}": v for k, v in readings.items()})
        else:
            form.update(readings)
            if roll > 0.99:
                form["needs"] = "medicine"  # about 1 % of calls ask for something: an escalation
        return form

    async def call(self, task_id):
        """Open the call screen, think, save. Returns the console page shown after the save."""
        status, location, page = await self._request("call screen", "GET", f"/queue/task/{task_id}")
        if status != 200:
            raise Failed("call screen", f"HTTP {status} → {location}")
        form = self._report(page)
        if self.think:
            await asyncio.sleep(self.rng.uniform(0.5, 1.5) * self.think)
        answered_error = False  # a save POST answered with an error (5xx, no answer)
        for attempt in range(SAVE_TRIES):
            started = time.monotonic()
            try:
                status, location, _text = await self._request("save", "POST", f"/queue/task/{task_id}", form)
                if status != 302:
                    raise Failed("save", f"HTTP {status} (form refused)")
                console = await self.console()
            except Failed as exc:
                self._error(exc)
                if exc.step == "save" and exc.what.endswith("saying saved"):
                    self.record.error_said_saved += 1
                else:
                    answered_error = answered_error or exc.step == "save"
                await asyncio.sleep(min(1 + attempt, 5))
                continue
            # Saved ("Call saved…", a success message) or saved before ("already saved", info); a conflict is
            # a danger message.
            flashed = set(FLASHED.findall(console))
            if flashed & {"success", "info"}:
                if answered_error and "info" in flashed:
                    self.record.saved_despite_error += 1
                self.record.saves.append((self.username, task_id, form["submission_key"],
                                          time.monotonic() - started))
                return console
            raise Failed("save", "refused (conflict)")
        self.record.unanswered.append((self.username, task_id, form["submission_key"]))
        raise Failed("save", f"no success after {SAVE_TRIES} tries")

    def _error(self, exc):
        self.record.errors[(exc.step, exc.what)] += 1
        self.record.timeline.append((time.monotonic(), exc.step, exc.what))

    async def open(self):
        # No keep-alive: as behind nginx, whose upstream connections are HTTP/1.0 unless configured otherwise
        # (and a server closing an idle kept-alive connection as the client reuses it is not the app's error).
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                             connector=aiohttp.TCPConnector(force_close=True),
                                             timeout=aiohttp.ClientTimeout(total=60))

    async def close(self):
        await self.session.close()

    async def work(self, deadline, page=None):
        while time.monotonic() < deadline:
            try:
                if not self.signed_in:
                    await self.sign_in()
                if page is None:
                    page = await self.console()
                task_id = await self.take(page)
                if task_id is None:
                    self.record.empty += 1
                    await asyncio.sleep(1)
                    page = await self.console()
                    continue
                page = await self.call(task_id)
            except Failed as exc:
                # As a person would: wait a moment, then reload the console (or sign in again if signed out).
                self._error(exc)
                page = None
                await asyncio.sleep(1)

async def _run(usernames, bases, think, duration, record, seed, window, on_start, saved_texts):
    rng = random.Random(seed)
    volunteers = [Volunteer(u, bases, record, think, random.Random(rng.random()), saved_texts) for u in usernames]
    gate = asyncio.Semaphore(8)

    async def sign_in(volunteer):
        async with gate:
            await volunteer.open()
            await volunteer.sign_in()
            return await volunteer.console()

    try:
        # Everyone signs in first (scrypt makes a sign-in dear), then the clock starts.
        pages = await asyncio.gather(*(sign_in(v) for v in volunteers))
        if on_start:
            on_start()
        window.append(time.monotonic())
        deadline = window[0] + duration
        await asyncio.gather(*(v.work(deadline, page) for v, page in zip(volunteers, pages, strict=True)))
        window.append(time.monotonic())
    finally:
        await asyncio.gather(*(v.close() for v in volunteers if v.session is not None))


def run(usernames, bases, think, duration, seed=15, on_start=None, saved_texts=()):
    """Sign the volunteers in, then let them work for `duration` seconds (`on_start()` is called as the clock
    starts). Returns (Record, seconds of work)."""
    record = Record()
    window = []
    asyncio.run(_run(usernames, bases, think, duration, record, seed, window, on_start, saved_texts))
    return record, window[1] - window[0]
