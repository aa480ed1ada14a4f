/**
 * The time zone card, in the seed's two levels: a zone (zone/list, such as
 * America), then the rest of the name in that zone (zone/country/list),
 * which may itself be nested, such as Argentina/Buenos_Aires: nested names
 * are grouped under their first part. Save sets it on every node.
 */
import { useState } from "preact/hooks";
import { type ApiError, type Reply, read, toApiError, write } from "./api.ts";
import { Badge, Card, ErrorBox, WriteOutcome } from "./components.tsx";
import { DASH, zoneLabel } from "./format.ts";
import type { CardProps } from "./sources.tsx";
import type { CurrentZone, WriteData, ZoneList } from "./types.ts";
import { useLoader } from "./use-loader.ts";

interface Outcome {
  okText: string;
  reply: Reply<WriteData> | null;
  error: ApiError | null;
}

export function ZoneCard(props: CardProps) {
  const { uuid } = props;
  const current = useLoader(
    uuid,
    () =>
      read<CurrentZone>("/v1/ntp/zone/country/current", { cluster_uuid: uuid }),
    { rev: props.rev },
  );
  const zones = useLoader(uuid, () =>
    read<ZoneList>("/v1/ntp/zone/list", { cluster_uuid: uuid }),
  );
  const [zone, setZone] = useState<string | null>(null);
  const [country, setCountry] = useState<string | null>(null);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [busy, setBusy] = useState(false);

  // Until the user picks, the pickers show the node's current zone.
  const shownZone = zone ?? current.data?.zone ?? "";
  const shownCountry =
    country ?? (zone === null ? (current.data?.country ?? "") : "");

  const save = async () => {
    setBusy(true);
    setOutcome(null);
    const name = `${shownZone}/${shownCountry}`;
    const okText = `Time zone set to ${name} on every node`;
    try {
      const reply = await write<WriteData>("/v1/ntp/zone/country/save", {
        zone: shownZone,
        country: shownCountry,
        cluster_uuid: uuid,
      });
      setOutcome({ okText, reply, error: null });
    } catch (err) {
      setOutcome({ okText, reply: null, error: toApiError(err) });
    }
    setBusy(false);
    props.onChanged();
  };

  return (
    <Card id="zone" title="Time zone">
      <CurrentZoneLine data={current.data} />
      <ErrorBox error={current.error} what="Could not read the time zone" />
      <ErrorBox error={zones.error} what="Could not list the zones" />
      <form
        class="form-row"
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <ZoneSelect
          zones={zones.data?.list ?? []}
          value={shownZone}
          onChange={(z) => {
            setZone(z);
            setCountry("");
          }}
        />
        <CountrySelect
          uuid={uuid}
          zone={shownZone}
          value={shownCountry}
          onChange={setCountry}
        />
        <div class="field field-button">
          <button
            type="submit"
            class="btn btn-primary"
            disabled={busy || shownZone === "" || shownCountry === ""}
          >
            Save time zone
          </button>
        </div>
      </form>
      {outcome && (
        <WriteOutcome
          reply={outcome.reply}
          error={outcome.error}
          okText={outcome.okText}
          label="Time zone change per node"
        />
      )}
    </Card>
  );
}

function CurrentZoneLine(props: { data: CurrentZone | null }) {
  const d = props.data;
  const name =
    d === null
      ? "..."
      : d.zone === null
        ? "not set (UTC)"
        : d.country
          ? `${d.zone}/${d.country}`
          : d.zone;
  return (
    <div class="current">
      <p>
        Current time zone:{" "}
        <strong class="mono" data-testid="current-zone">
          {name}
        </strong>
        {d && <span class="sub-inline">found by {d.found_by}</span>}
      </p>
      {d?.mismatch && (
        <p>
          <Badge tone="warn">mismatch</Badge> {d.mismatch}
        </p>
      )}
      {d?.note && <p class="note">{d.note}</p>}
    </div>
  );
}

function ZoneSelect(props: {
  zones: string[];
  value: string;
  onChange: (zone: string) => void;
}) {
  return (
    <div class="field">
      <label for="tz-zone">Zone</label>
      <select
        id="tz-zone"
        value={props.value}
        onChange={(e) => props.onChange(e.currentTarget.value)}
      >
        <option value="" disabled>
          Choose a zone
        </option>
        {props.zones.map((z) => (
          <option key={z} value={z}>
            {zoneLabel(z)}
          </option>
        ))}
      </select>
    </div>
  );
}

function CountrySelect(props: {
  uuid: string;
  zone: string;
  value: string;
  onChange: (country: string) => void;
}) {
  const { uuid, zone } = props;
  const countries = useLoader(zone === "" ? null : `${uuid}|${zone}`, () =>
    read<ZoneList>("/v1/ntp/zone/country/list", { zone, cluster_uuid: uuid }),
  );
  const list = countries.data?.list ?? [];
  const { flat, groups } = group(list);
  return (
    <div class="field field-grow">
      <label for="tz-country">Country or city</label>
      <select
        id="tz-country"
        value={props.value}
        disabled={zone === "" || countries.data === null}
        onChange={(e) => props.onChange(e.currentTarget.value)}
      >
        <option value="" disabled>
          {countries.loading ? "Loading..." : `Choose in ${zone || DASH}`}
        </option>
        {flat.map((c) => (
          <option key={c} value={c}>
            {zoneLabel(c)}
          </option>
        ))}
        {groups.map(([head, names]) => (
          <optgroup key={head} label={zoneLabel(head)}>
            {names.map((c) => (
              <option key={c} value={c}>
                {zoneLabel(c.slice(head.length + 1))}
              </option>
            ))}
          </optgroup>
        ))}
      </select>
      <ErrorBox error={countries.error} what="Could not list the names" />
    </div>
  );
}

/** Names without a slash as they are; nested ones by their first part. */
function group(list: string[]): {
  flat: string[];
  groups: [string, string[]][];
} {
  const flat: string[] = [];
  const groups = new Map<string, string[]>();
  for (const name of list) {
    const slash = name.indexOf("/");
    if (slash < 0) {
      flat.push(name);
      continue;
    }
    const head = name.slice(0, slash);
    groups.set(head, [...(groups.get(head) ?? []), name]);
  }
  return { flat, groups: [...groups.entries()] };
}
