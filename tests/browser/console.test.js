// The web console in real headless Chromium against the real binary: the tutorial done by
// hand in the browser. The tests run in order and build on each other (one server, one
// account): import the flow, chat through the simulator, read the execution, hand the
// conversation to an agent.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO_ROOT, launchBrowser, login, newPage, screenshot, startServer, texts } from './harness.js';

const SEED_PATH = join(REPO_ROOT, 'examples', 'flows', 'seed-flow.json');
const SEED = JSON.parse(readFileSync(SEED_PATH, 'utf8'));
const HANDSET = '+15558675310';
const ADDRESS = '+12345678901';

describe('web console', { timeout: 100_000 }, () => {
  let server;
  let browser;
  let page;
  let flowSid;

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    page = await newPage(browser.context);
  });

  after(async () => {
    if (browser) await browser.close();
    if (server) await server.stop();
  });

  test('login with a wrong token is refused and shows nothing of the account', async () => {
    const dataCalls = [];
    page.on('request', (r) => {
      const url = new URL(r.url());
      if (!url.pathname.startsWith('/console') && url.pathname !== '/v1/Configuration') dataCalls.push(url.pathname);
    });
    await login(page, server, 'not-the-token');
    const error = page.locator('#login-error');
    await error.waitFor();
    assert.match(await error.textContent(), /refused/);
    assert.equal(await page.locator('#shell').isVisible(), false);
    assert.equal(await page.locator('#view').innerHTML(), '');
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    assert.deepEqual(dataCalls, [], 'no data was requested with refused credentials');
    await screenshot(page, '01-login-refused');

    await page.locator('#login-token').fill(server.authToken);
    await page.locator('#login-form button[type=submit]').click();
    await page.locator('#shell').waitFor();
    await page.locator('#live-status[data-status=live]').waitFor();
    assert.equal(await page.locator('#account-sid').textContent(), server.accountSid);
  });

  test('a validation error is shown on the widget it concerns', async () => {
    const broken = structuredClone(SEED);
    const split = broken.states.findIndex((s) => s.name === 'split_1');
    broken.states[split].transitions[1].next = 'nowhere';
    await page.goto(`${server.baseUrl}/console/#/flows/import`);
    await page.locator('#import-name').fill('broken');
    await page.locator('#import-json').fill(JSON.stringify(broken, null, 2));
    await page.locator('#validate').click();

    const widget = page.locator('.flow-canvas [data-widget="split_1"].has-error');
    await widget.waitFor();
    const callout = page.locator('.flow-canvas .widget-error[data-widget="split_1"]');
    assert.match(await callout.textContent(), /unknown widget 'nowhere'/);
    // Drawn right under the widget's box.
    const box = await widget.locator('rect.box').boundingBox();
    const under = await callout.boundingBox();
    assert.ok(Math.abs(under.x - box.x) < 2 && under.y >= box.y + box.height && under.y - (box.y + box.height) < 20);
    assert.equal(await page.locator('.flow-canvas .widget.has-error').count(), 1, 'only split_1 is marked');
    assert.match(await page.locator('#validation-result').textContent(), /split_1.*nowhere/);
    await screenshot(page, '02-validation-error-on-widget');
  });

  test('importing the seed flow draws all six widgets', async () => {
    await page.goto(`${server.baseUrl}/console/#/flows/import`);
    await page.locator('#import-file').setInputFiles(SEED_PATH);
    await page.locator('#import-name').fill('bots');
    await page.locator('#import-status').selectOption('published');
    await page.locator('#import').click();
    await page.waitForURL(/#\/flows\/FW[0-9a-f]{32}$/);
    flowSid = /#\/flows\/(FW[0-9a-f]{32})$/.exec(page.url())[1];

    const widgets = page.locator('.flow-canvas .widget');
    await widgets.first().waitFor();
    assert.equal(await widgets.count(), 6);
    for (const state of SEED.states) {
      const box = page.locator(`.flow-canvas .widget[data-widget="${state.name}"]`);
      assert.equal(await box.locator('.widget-name').textContent(), state.name);
      assert.equal(await box.locator('.widget-type').textContent(), state.type);
      assert.ok(await box.isVisible(), `${state.name} is visible`);
    }
    // Every connected transition is an arrow labelled with its event.
    assert.equal(await page.locator('.flow-canvas path.edge').count(), 5);
    const labels = await texts(page.locator('.flow-canvas .edge-label'));
    for (const l of ['incomingConversationMessage', 'incomingMessage', 'noMatch', 'match: yes,Yes', 'match: no,No']) {
      assert.ok(labels.includes(l), `arrow "${l}" in ${labels}`);
    }
    assert.equal(await page.locator('#flow-revision').textContent(), 'revision 1');
    await screenshot(page, '03-flow-canvas');
  });

  test('chatting through the simulator page shows the bot\'s answers', async () => {
    await page.locator('nav a[data-nav=simulator]').click();
    await page.locator('#connect summary').click();
    await page.locator('#connect-address').fill(ADDRESS);
    await page.locator('#connect-flow').selectOption(flowSid);
    await page.locator('#connect-submit').click();
    await page.locator('.addresses', { hasText: ADDRESS }).waitFor();

    await page.locator('#sim-handset').fill(HANDSET);
    await page.locator('#sim-address').fill(ADDRESS);
    await page.locator('#sim-open').click();
    await page.locator('.phone').waitFor();

    const screen = page.locator('#sim-messages');
    await page.locator('#sim-body').fill('hello');
    await page.locator('#sim-send').click();
    await screen.locator('.bubble.outbound', { hasText: 'Hi, do you like bots?' }).waitFor();
    await page.locator('#sim-body').fill('yes');
    await page.locator('#sim-send').click();
    await screen.locator('.bubble.outbound', { hasText: '🤖' }).waitFor();
    assert.deepEqual(await texts(screen.locator('.bubble .text')), ['hello', 'Hi, do you like bots?', 'yes', '🤖']);
    assert.deepEqual(await texts(screen.locator('.bubble.inbound .text')), ['hello', 'yes']);
    await screenshot(page, '04-simulator-chat');
  });

  test('the execution shows its steps and the path it took', async () => {
    await page.locator('nav a[data-nav=executions]').click();
    const row = page.locator('#executions-table tbody tr');
    await row.first().waitFor();
    assert.equal(await row.count(), 1);
    assert.match(await row.textContent(), /ended/);
    await row.locator('a').click();

    const steps = page.locator('#steps li.step');
    await steps.first().waitFor();
    assert.deepEqual(await texts(steps.locator('.step-widget')), ['Trigger', 'send_and_reply_1', 'split_1', 'send_message_2']);
    assert.deepEqual(await texts(steps.locator('.step-event')), ['incomingConversationMessage', 'incomingMessage', 'match', 'sent']);
    assert.deepEqual(await texts(steps.locator('.step-to')), ['send_and_reply_1', 'split_1', 'send_message_2', 'Ended']);

    // The context at step 2 holds the reply the widget got; at step 1 it did not exist yet.
    const second = steps.nth(1);
    await second.locator('.step-context summary').click();
    const ctx = JSON.parse(await second.locator('.step-context pre').textContent());
    assert.equal(ctx.widgets.send_and_reply_1.inbound.Body, 'yes');
    assert.equal(ctx.trigger.conversation.Body, 'hello');
    const first = JSON.parse(await steps.nth(0).locator('.step-context pre').textContent());
    assert.equal(first.widgets, undefined);

    const visited = await page.locator('.flow-canvas .widget.visited').evaluateAll((els) => els.map((e) => e.dataset.widget).sort());
    assert.deepEqual(visited, ['Trigger', 'send_and_reply_1', 'send_message_2', 'split_1']);
    const taken = await page.locator('.flow-canvas path.edge.taken').evaluateAll((els) => els.map((e) => `${e.dataset.from}→${e.dataset.to}`).sort());
    assert.deepEqual(taken, ['Trigger→send_and_reply_1', 'send_and_reply_1→split_1', 'split_1→send_message_2']);
    await screenshot(page, '05-execution-steps');
  });

  test('an agent joins the conversation and replies; the handset sees it', async () => {
    // The customer's phone stays open in a second tab, with its own login.
    const phone = await newPage(browser.context);
    await login(phone, server);
    await phone.locator('#shell').waitFor();
    await phone.goto(`${server.baseUrl}/console/#/simulator?handset=${encodeURIComponent(HANDSET)}&address=${encodeURIComponent(ADDRESS)}`);
    await phone.locator('#sim-messages .bubble.outbound', { hasText: '🤖' }).waitFor();
    await phone.locator('#live-status[data-status=live]').waitFor();

    // One tab in front at a time, as for a person: background tabs get no animation frames.
    await page.bringToFront();
    await page.locator('nav a[data-nav=conversations]').click();
    const row = page.locator('#conversations-table tbody tr');
    await row.first().waitFor();
    assert.equal(await row.count(), 1);
    await row.locator('a').click();
    const messages = page.locator('#messages li.message');
    await messages.first().waitFor();
    assert.deepEqual(await texts(messages.locator('.body')), ['hello', 'Hi, do you like bots?', 'yes', '🤖']);
    assert.match(await page.locator('#participants').textContent(), new RegExp(`\\${HANDSET}`));

    await page.locator('#agent-identity').fill('alice');
    await page.locator('#join').click();
    await page.locator('#agent-me', { hasText: 'alice' }).waitFor();
    await page.locator('#participants li[data-identity=alice]').waitFor();
    // The hand-off: the flow stops answering, the person takes over.
    await page.locator('#bot .stop-bot').click();
    await page.locator('#bot', { hasText: 'No flow answers' }).waitFor();

    await page.locator('#reply-body').fill("Hi, I'm Alice!");
    await page.locator('#send-reply').click();
    await messages.filter({ hasText: "Hi, I'm Alice!" }).waitFor();
    assert.match(await messages.last().locator('.meta').textContent(), /alice/);

    // The handset got it, live, without reloading.
    await phone.bringToFront();
    await phone.locator('#sim-messages .bubble.outbound', { hasText: "Hi, I'm Alice!" }).waitFor();
    await screenshot(phone, '06-handset-sees-agent');

    // And the customer's answer reaches the agent live.
    await phone.locator('#sim-body').fill('Thanks, Alice');
    await phone.locator('#sim-send').click();
    await page.bringToFront();
    await messages.filter({ hasText: 'Thanks, Alice' }).waitFor();
    await screenshot(page, '07-agent-conversation');
    assert.deepEqual(phone.errors, []);
    await phone.close();
  });

  test('a new revision is published and its diff drawn widget by widget', async () => {
    const next = structuredClone(SEED);
    const robot = next.states.find((s) => s.name === 'send_message_2');
    robot.properties.body = '🦾';
    next.states.find((s) => s.name === 'send_message_3').properties.offset.x += 40;
    next.states.push({ name: 'send_message_4', type: 'send-message', transitions: [{ event: 'sent' }, { event: 'failed' }], properties: { offset: { x: 650, y: 590 }, from: '{{flow.channel.address}}', to: '{{contact.channel.address}}', body: 'new' } });
    next.states = next.states.filter((s) => s.name !== 'send_message_1');
    next.states.find((s) => s.name === 'split_1').transitions[0].next = 'send_message_4';

    await page.goto(`${server.baseUrl}/console/#/flows/${flowSid}`);
    await page.locator('a.button', { hasText: 'Import a new revision' }).click();
    await page.locator('#import-json').fill(JSON.stringify(next, null, 2));
    await page.locator('#import-status').selectOption('draft');
    await page.locator('#import-commit').fill('robot arm');
    await page.locator('#import').click();
    await page.waitForURL(new RegExp(`#/flows/${flowSid}$`));
    await page.locator('#flow-revision', { hasText: 'revision 2' }).waitFor();
    await page.locator('#publish').click();
    await page.locator('#flow-revision', { hasText: 'revision 3' }).waitFor();
    await page.locator('.toolbar .badge.status-published').waitFor();
    assert.equal(await page.locator('#revisions-table tbody tr').count(), 3);

    await page.locator('#revisions-table tr[data-revision="2"] a').click();
    await page.locator('#diff-list').waitFor();
    const mark = (name) => page.locator(`.flow-canvas .widget[data-widget="${name}"]`).getAttribute('class');
    assert.match(await mark('send_message_2'), /diff-changed/);
    assert.match(await mark('send_message_3'), /diff-moved/);
    assert.match(await mark('send_message_4'), /diff-added/);
    assert.match(await mark('send_message_1'), /diff-removed/);
    assert.match(await mark('split_1'), /diff-changed/);
    assert.doesNotMatch(await mark('Trigger'), /diff-/);
    const changed = page.locator('#diff-list li[data-widget="send_message_2"]');
    assert.match(await changed.textContent(), /properties\.body.*🤖.*→.*🦾/);
    assert.match(await page.locator('#diff-list li[data-widget="split_1"]').textContent(), /transitions\[0\] \(noMatch\)\.next.*send_message_1.*send_message_4/);
    await screenshot(page, '08-revision-diff');
    assert.deepEqual(page.errors, []);
  });

  test('logging out forgets the credentials and clears the screen', async () => {
    await page.locator('nav a[data-nav=flows]').click();
    await page.locator('#flows-table tbody tr').first().waitFor();
    await page.locator('#logout').click();
    await page.locator('#login-form').waitFor();
    assert.equal(await page.locator('#shell').isVisible(), false);
    assert.equal(await page.locator('#view').innerHTML(), '');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('parley.credentials')), null);
    await page.reload();
    await page.locator('#login-form').waitFor();
    assert.equal(await page.locator('#shell').isVisible(), false);
    assert.deepEqual(page.errors, []);
  });
});
