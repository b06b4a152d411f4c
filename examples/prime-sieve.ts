// Go's concurrent prime sieve (https://go.dev/doc/play/sieve.go) with
// fanout's Channel: a daisy chain of filters, one per prime found, each a
// task that passes on the numbers its prime does not divide.
//
//   node --import tsx examples/prime-sieve.ts [count]   (default 100 primes)
//
// Go's version leaves every goroutine blocked when main returns; here one
// AbortSignal stops the whole chain and a WaitGroup waits for it to stop.

import { setMaxListeners } from 'node:events';
import { Channel, WaitGroup } from '../src/index.ts';

const count = Number(process.argv[2] ?? 100);
if (!Number.isInteger(count) || count < 1) {
  console.error(`usage: prime-sieve.ts [count], count a positive integer, got ${process.argv[2]}`);
  process.exit(2);
}

const stop = new AbortController();
const { signal } = stop;
// Every waiting task holds one listener on this signal: one per filter.
setMaxListeners(count + 10, signal);
const tasks = new WaitGroup();

// The abort we ask for at the end is how every task is meant to return.
function go(fn: () => Promise<void>): void {
  tasks.go(async () => {
    try {
      await fn();
    } catch (err) {
      if (err !== signal.reason) throw err;
    }
  });
}

// Send the sequence 2, 3, 4, ... to channel 'ch'.
// func Generate(ch chan<- int) {
//     for i := 2; ; i++ {
//         ch <- i // Send 'i' to channel 'ch'.
//     }
// }
async function generate(ch: Channel<number>): Promise<void> {
  for (let i = 2; ; i++) await ch.send(i, { signal });
}

// Copy the values from channel 'in' to channel 'out',
// removing those divisible by 'prime'.
// func Filter(in <-chan int, out chan<- int, prime int) {
//     for {
//         i := <-in // Receive value from 'in'.
//         if i%prime != 0 {
//             out <- i // Send 'i' to 'out'.
//         }
//     }
// }
async function filter(input: Channel<number>, out: Channel<number>, prime: number): Promise<void> {
  for (;;) {
    const { value: i } = await input.recv({ signal });
    if ((i as number) % prime !== 0) await out.send(i as number, { signal });
  }
}

// The prime sieve: Daisy-chain Filter processes.
// func main() {
//     ch := make(chan int) // Create a new channel.
//     go Generate(ch)      // Launch Generate goroutine.
//     for i := 0; i < 10; i++ {
//         prime := <-ch
//         fmt.Println(prime)
//         ch1 := make(chan int)
//         go Filter(ch, ch1, prime)
//         ch = ch1
//     }
// }
const started = performance.now();
let ch = new Channel<number>();
go(() => generate(ch));
const primes: number[] = [];
for (let i = 0; i < count; i++) {
  const { value: prime } = await ch.recv();
  primes.push(prime as number);
  const ch1 = new Channel<number>();
  const input = ch;
  go(() => filter(input, ch1, prime as number));
  ch = ch1;
}
const ms = performance.now() - started;

console.log(`the first ${count} primes, through a chain of ${count} filter tasks:`);
console.log(primes.join(' '));
stop.abort();
await tasks.wait();
console.log(`stopped all ${count + 1} tasks with one abort (${ms.toFixed(0)} ms)`);
