import { Duration, Stack } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Schedule, type ScheduleExpression, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { Construct } from 'constructs';
import { acknowledgeNag, functionVersionsFinding } from '../nag.js';

export interface FunctionScheduleProps {
  readonly function: IFunction;
  readonly scheduleName: string;
  readonly description: string;
  /** rate(…) or a cron with the stage's time zone. */
  readonly expression: ScheduleExpression;
  /** The event the function receives; `{}` when omitted. */
  readonly payload?: Record<string, unknown>;
  /**
   * How long a failed delivery is retried. Jobs that run every minute take none (the next minute is the retry);
   * daily ones keep the default hour.
   */
  readonly retry?: { attempts: number; maxEventAge: Duration };
}

/** A time of day for a daily cron (ScheduleExpression.cron's fields), in the stage's schedule time zone. */
export interface DailyTime {
  readonly hour: string;
  readonly minute: string;
}

/** How a schedule's description shows a daily time: "03:00". */
export function clockTime({ hour, minute }: DailyTime): string {
  return `${hour.padStart(2, '0')}:${minute.padStart(2, '0')}`;
}

/** An EventBridge Scheduler schedule that invokes one function with a fixed JSON payload. */
export class FunctionSchedule extends Construct {
  readonly schedule: Schedule;

  constructor(scope: Construct, id: string, props: FunctionScheduleProps) {
    super(scope, id);
    const retry = props.retry ?? { attempts: 3, maxEventAge: Duration.hours(1) };
    // One role per schedule, assumable only by EventBridge Scheduler on behalf of this account.
    const role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      description: `Invokes ${props.scheduleName}'s function`,
    });
    this.schedule = new Schedule(this, 'Schedule', {
      scheduleName: props.scheduleName,
      description: props.description,
      schedule: props.expression,
      target: new LambdaInvoke(props.function, {
        input: ScheduleTargetInput.fromObject(props.payload ?? {}),
        retryAttempts: retry.attempts,
        maxEventAge: retry.maxEventAge,
        role,
      }),
    });
    acknowledgeNag(
      role,
      functionVersionsFinding(props.function),
      'CDK grants the invoke on the function and its versions; this role can invoke nothing else.',
    );
  }
}

/** Every-minute jobs: a missed minute is not retried, the next run measures afresh. */
export const EVERY_MINUTE_RETRY = { attempts: 0, maxEventAge: Duration.minutes(1) };
